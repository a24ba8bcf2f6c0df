import subprocess
import sys

import numpy as np
import pytest
import sacrebleu

from gru_keras.families import get_task
from gru_keras.families.edit_distance import edit_distance, error_rate
from gru_keras.families.translation.data import END, PAD, START, translation_data
from gru_keras.families.translation.decoding import beam_search, decode, greedy_search
from gru_keras.families.translation.model import LuongAttention
from gru_keras.families.translation.options import EMBEDDING_DIM, TranslationOptions
from gru_keras.families.translation.task import (
    BUCKETS,
    SAMPLES_FILE,
    bucket_width,
    length_batches,
    token_cross_entropy,
    translation_scores,
)
from gru_keras.variants import get_variant

ALPHABET = "abcd"
MAX_LENGTH = 5


def copy_data():
    rng = np.random.default_rng(0)
    words = [
        "".join(rng.choice(list(ALPHABET), size=rng.integers(1, MAX_LENGTH + 1))) for _ in range(40)
    ]
    pairs = [(word, word) for word in words]
    # Every letter in train, so both vocabularies are "abcd" -> ids 4..7.
    train = [(ALPHABET, ALPHABET), *pairs[:20]]
    return translation_data(
        "copy",
        [train, pairs[20:30], pairs[30:]],
        reverse_source=True,
    )


def build(variant, units, data, **options):
    """The seq2seq model of `variant` with the given `TranslationOptions`."""
    return get_task("seq2seq").build_model(
        get_variant(variant), units, data, TranslationOptions(**options)
    )


def copying_model(data):
    """A SimpleRNN encoder-decoder whose weights copy the source exactly.

    Each state is a shift register of MAX_LENGTH + 1 slots of one-hot letters. The encoder
    reads the reversed source, shifting every slot up and writing the new letter into slot 1,
    so it ends with the first letter in slot 1, the second in slot 2, and so on. The decoder
    ignores its input and shifts every slot down one per step; the head reads slot 0 and says
    END once slot 0 is empty. Saturated tanh (gain 3) keeps the one-hots near 1.
    """
    letters = len(ALPHABET)
    units = (MAX_LENGTH + 1) * letters
    model = build("simple_rnn", units, data)

    def slot(index, letter):
        return index * letters + letter

    embedding = np.zeros((data.facts.source_vocabulary.size, EMBEDDING_DIM))
    for letter in range(letters):
        embedding[4 + letter, letter] = 1.0
    model.get_layer("source_embedding").set_weights([embedding])

    gain = 3.0
    kernel = np.zeros((EMBEDDING_DIM, units))
    encoder_recurrent = np.zeros((units, units))
    decoder_recurrent = np.zeros((units, units))
    for letter in range(letters):
        kernel[letter, slot(1, letter)] = gain
        for index in range(1, MAX_LENGTH):
            encoder_recurrent[slot(index, letter), slot(index + 1, letter)] = gain
        for index in range(1, MAX_LENGTH + 1):
            decoder_recurrent[slot(index, letter), slot(index - 1, letter)] = gain
    model.get_layer("encoder").set_weights([kernel, encoder_recurrent, np.zeros(units)])
    model.get_layer("decoder").set_weights(
        [np.zeros((EMBEDDING_DIM, units)), decoder_recurrent, np.zeros(units)]
    )
    head_kernel = np.zeros((units, data.facts.target_vocabulary.size))
    head_bias = np.full(data.facts.target_vocabulary.size, -5.0)
    head_bias[END] = 0.5
    for letter in range(letters):
        head_kernel[slot(0, letter), 4 + letter] = 10.0
    model.get_layer("output_head").set_weights([head_kernel, head_bias])
    return model


def decoded_text(data, ids):
    return [data.facts.target_vocabulary.decode(row) for row in ids]


def test_a_model_that_copies_decodes_exactly_with_greedy_and_beam_search():
    data = copy_data()
    model = copying_model(data)
    references = [target for _, target in data.facts.test_pairs]
    greedy = decode(model, data.x_test["source"], MAX_LENGTH + 3)
    assert decoded_text(data, greedy) == references
    # After the end token the rows are padding, in one batched array.
    assert greedy.shape == (len(references), MAX_LENGTH + 3)
    for row, reference in zip(greedy, references, strict=True):
        assert row[len(reference)] == END and (row[len(reference) + 1 :] == PAD).all()
    beam = decode(model, data.x_test["source"], MAX_LENGTH + 3, beam_width=3)
    assert decoded_text(data, beam) == references
    scores = get_task("seq2seq").evaluate(model, data, 8, TranslationOptions()).metrics
    assert scores["exact_match"] == 1.0 and scores["cer"] == 0.0
    assert scores["chrf"] == pytest.approx(100.0) and scores["loss"] < 0.05


def table_step(table):
    """A decoder step from a table: previous token -> next-token distribution; the state is
    a dummy that beam search must carry along."""

    def step(tokens, states):
        return table[tokens[:, 0]], [states[0] + 1]

    return step


def test_beam_search_finds_a_more_likely_sequence_than_greedy():
    # After START: a 0.6, b 0.4. After a: c 0.34, d 0.33, END 0.33. After b or c: END.
    # Greedy takes a, then c: mean log-probability (ln .6 + ln .34 + ln 1) / 3 = -0.53.
    # Beam (width 2) also keeps b: (ln .4 + ln 1) / 2 = -0.46, the better one.
    a, b, c, d = 4, 5, 6, 7
    table = np.full((8, 8), 1e-9)
    table[START, [a, b]] = [0.6, 0.4]
    table[a, [c, d, END]] = [0.34, 0.33, 0.33]
    table[[b, c, d], END] = 1.0
    states = [np.zeros((3, 1))]  # three identical sequences in one batch
    greedy = greedy_search(table_step(table), states, max_length=4)
    beam = beam_search(table_step(table), states, max_length=4, beam_width=2)
    np.testing.assert_array_equal(greedy, [[a, c, END, PAD]] * 3)
    np.testing.assert_array_equal(beam, [[b, END, PAD, PAD]] * 3)
    # Width 1 is greedy.
    np.testing.assert_array_equal(beam_search(table_step(table), states, 4, 1), greedy)


def test_length_batches_cut_each_batch_to_its_longest_pair():
    data = copy_data()
    batches = length_batches(data.x_train, data.y_train, batch_size=4)
    assert sum(len(targets) for _, targets in batches) == len(data.y_train)
    for inputs, targets in batches:
        assert (inputs["source"][:, -1] != PAD).any() and (targets[:, -1] != PAD).any()
        assert inputs["target_in"].shape == targets.shape


def test_for_xla_length_batches_are_padded_to_few_bucket_widths():
    data = copy_data()
    batches = length_batches(data.x_train, data.y_train, batch_size=4, buckets=BUCKETS)
    assert sum(len(targets) for _, targets in batches) == len(data.y_train)
    source_width, target_width = data.x_train["source"].shape[1], data.y_train.shape[1]
    for inputs, targets in batches:
        source, target = inputs["source"].shape[1], targets.shape[1]
        assert source in {bucket_width(w, source_width) for w in range(1, source_width + 1)}
        assert target in {bucket_width(w, target_width) for w in range(1, target_width + 1)}
        # Nothing is cut, and no narrower bucket would hold the batch.
        longest_source = int((inputs["source"] != PAD).sum(axis=1).max())
        longest_target = int((targets != PAD).sum(axis=1).max())
        assert longest_source <= source and longest_target <= target
        assert bucket_width(longest_source, source_width) == source
        assert bucket_width(longest_target, target_width) == target
        assert inputs["target_in"].shape == targets.shape
    shapes = {(inputs["source"].shape[1], targets.shape[1]) for inputs, targets in batches}
    assert len(shapes) <= BUCKETS * BUCKETS


def test_bucket_widths_are_few_and_round_up():
    assert [bucket_width(w, 20) for w in (1, 5, 6, 10, 11, 19, 20)] == [5, 5, 10, 10, 15, 20, 20]
    assert len({bucket_width(w, 37) for w in range(1, 38)}) == 4
    assert bucket_width(3, 3) == 3


def test_token_cross_entropy_of_a_uniform_model_is_log_vocabulary():
    data = copy_data()
    model = build("lstm", 8, data)
    head = model.get_layer("output_head")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])
    expected = np.log(data.facts.target_vocabulary.size)
    assert token_cross_entropy(model, data.x_test, data.y_test) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("variant", ["simple_rnn", "lstm", "keras_gru", "custom_gru"])
def test_every_variant_builds_encoder_decoder_with_matched_core(variant):
    data = copy_data()
    task = get_task("seq2seq")
    count = task.core_parameters(get_variant(variant), data, TranslationOptions())
    model = build(variant, 12, data)
    assert task.recurrent_parameter_count(model) == count(12)
    greedy = decode(model, data.x_test["source"], 4)
    assert greedy.shape == (len(data.y_test), 4)


def test_edit_distance_and_error_rate_on_known_pairs():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3
    assert edit_distance("flaw", "lawn") == 2
    assert edit_distance([7, 3, 9], [7, 9]) == 1
    assert error_rate(["kitten", "abc"], ["sitting", "abc"]) == pytest.approx(3 / 10)


def test_translation_scores_use_sacrebleu():
    hypotheses, references = ["le chat est assis", "bonjour"], ["le chat est assis", "bonsoir"]
    scores = translation_scores(hypotheses, references)
    assert scores["exact_match"] == 0.5
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hypotheses, [references]).score)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, [references]).score)
    assert scores["cer"] == pytest.approx(2 / 24)  # bonjour -> bonsoir: j->s, u->i


def test_exact_match_is_broken_down_by_kind_of_sentence():
    pairs = [("one", "un"), ("two", "deux"), ("May 1", "1 mai")]
    data = translation_data(
        "t",
        [pairs, pairs, pairs],
        reverse_source=True,
        test_groups=("cardinal", "cardinal", "long_date"),
    )
    evaluation = get_task("seq2seq").evaluate_predictions(np.array(["un", "trois", "1 mai"]), data)
    assert evaluation.metrics["exact_match"] == pytest.approx(2 / 3)
    assert evaluation.metrics["exact_match_cardinal"] == 0.5
    assert evaluation.metrics["exact_match_long_date"] == 1.0
    samples = evaluation.tables[SAMPLES_FILE]
    assert samples["hypothesis"].tolist() == ["un", "trois", "1 mai"]


def test_luong_attention_matches_a_numpy_reference_and_ignores_padding():
    rng = np.random.default_rng(3)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    values = rng.normal(size=(2, 5, 6)).astype("float32")
    source = np.array([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9]], dtype="int32")
    layer = LuongAttention(7)
    states = np.asarray(layer([query, values, source]))
    score_kernel, combine_kernel = (np.asarray(w, dtype="float64") for w in layer.get_weights())
    for row in range(2):
        real = source[row] != PAD
        keys = values[row, real] @ score_kernel  # (real steps, 4)
        scores = query[row] @ keys.T
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        context = weights @ values[row, real]
        expected = np.tanh(np.concatenate([context, query[row]], axis=1) @ combine_kernel)
        np.testing.assert_allclose(states[row], expected, atol=1e-5)
    # Whatever sits in the padded positions changes nothing.
    noisy = values.copy()
    noisy[0, 3:] = 100.0
    np.testing.assert_allclose(np.asarray(layer([query, noisy, source])), states, atol=1e-6)


@pytest.mark.parametrize(
    ("variant", "context"), [("lstm", True), ("custom_gru", False), ("simple_rnn", True)]
)
def test_attention_decoder_step_reproduces_the_teacher_forced_model(variant, context):
    """Greedy decoding through the split encoder / step models picks, at every position,
    the token the whole model ranks first when fed that same prefix."""
    import keras

    keras.utils.set_random_seed(1)
    data = copy_data()
    model = build(variant, 10, data, attention="luong", decoder_context=context)
    assert model.get_layer("attention").count_params() > 0
    source = data.x_test["source"]
    length = MAX_LENGTH + 3
    decoded = decode(model, source, length)
    target_in = np.concatenate([np.full((len(source), 1), START), decoded[:, :-1]], axis=1)
    # After a sentence's end token greedy pads; the full model's choice there is not compared.
    ranked = np.asarray(model.predict_on_batch({"source": source, "target_in": target_in}))
    chosen = ranked.argmax(axis=-1)
    emitted = np.cumsum(decoded == END, axis=1) - (decoded == END) == 0
    np.testing.assert_array_equal(chosen[emitted], decoded[emitted])
    # Beam search carries the encoder outputs and source ids along with each hypothesis.
    assert decode(model, source, length, beam_width=3).shape == decoded.shape


def test_attention_model_saves_and_loads_with_safe_mode(tmp_path):
    import keras

    data = copy_data()
    model = build("custom_gru", 8, data, attention="luong")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    inputs = {"source": data.x_test["source"], "target_in": data.x_test["target_in"]}
    np.testing.assert_allclose(
        np.asarray(loaded.predict_on_batch(inputs)), np.asarray(model.predict_on_batch(inputs))
    )


RELOAD = """
import sys
import gru_keras
import numpy as np
assert "tensorflow" not in sys.modules and "keras" not in sys.modules
import keras  # registers the package's Keras objects: Keras never imports them itself
model = keras.saving.load_model("model.keras", safe_mode=True)
inputs = dict(np.load("inputs.npz"))
np.save("reloaded.npy", np.asarray(model.predict_on_batch(inputs)))
print(type(model.loss).__name__)
"""


def test_a_saved_model_reloads_in_a_new_process_after_only_import_gru_keras(tmp_path):
    """`import gru_keras` loads no TensorFlow, yet a model naming the family's own layer and
    loss (Luong attention, the smoothed cross-entropy) reloads: what docs/mlflow-ui.md
    promises of `import gru_keras, mlflow; mlflow.keras.load_model(uri)`."""
    data = copy_data()
    model = build("custom_gru", 8, data, attention="luong")
    options = TranslationOptions(attention="luong", label_smoothing=0.1)
    model.compile(optimizer="adam", **get_task("seq2seq").compile_kwargs(options))
    model.save(tmp_path / "model.keras")
    inputs = {"source": data.x_test["source"], "target_in": data.x_test["target_in"]}
    np.savez(tmp_path / "inputs.npz", **inputs)
    done = subprocess.run(
        [sys.executable, "-c", RELOAD], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "SmoothedCrossEntropy"
    np.testing.assert_allclose(
        np.load(tmp_path / "reloaded.npy"), np.asarray(model.predict_on_batch(inputs))
    )
