"""Drawing helpers below both the families and the report: model colours, tables, confusion
matrices and sample tables. A leaf: it imports only `gru_keras.schema` and
`gru_keras.variants`, so a family can draw its own panel without importing `report/`."""
