"""``search ask`` / ``Index.ask``: plumbing with the hashing encoder, quality with the real one."""

import json
import os

import pytest
from click.testing import CliRunner

from searchkit import BadInput, Index
from searchkit.ask import (DEFAULT_WEIGHTS, answer_type_match, answer_unit_match,
                           calibrate_threshold_utility, evaluate, gather, is_heading,
                           is_statement, sentence_matches)
from searchkit.highlight import split_sentences
from searchkit.cli import cli
from searchkit.cli.ask import EXIT_NO_ANSWER

from conftest import DATA, ROOT

QA = [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines()
      if line.strip()]

KINGFISHER = ("Kingfisher nesting notes\n\nThis spring a pair of kingfishers dug a burrow into "
              "the sandy bank. The entrance is a neat round hole about six centimetres across. "
              "The eggs hatched after nineteen days.\n")


@pytest.fixture
def small(tmp_path, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_texts([KINGFISHER, "Sourdough starter notes. Feed the starter flour and water "
                   "every day. The kingfisher on the label is a logo.",
                   "Marathon plan. Run the long run slowly on Sundays.",
                   "Burrow notes. The entrance is a neat round hole about six centimetres "
                   "across in most kingfisher burrows."],
                  metadata=[{"path": "birds/kingfisher.md"}, {"path": "bread.txt"},
                            {"path": "run.txt"}, {"path": "birds/burrows.md"}])
    yield idx
    idx.close()


def test_answer_cites_the_sentence(small):
    a = small.ask("The entrance is a neat round hole about six centimetres across")
    assert a.answered and a.confidence >= a.threshold
    assert a.text == "The entrance is a neat round hole about six centimetres across."
    assert a.citation == "birds/kingfisher.md:3" and a.line == 3 and a.page is None
    s, e = a.span
    assert a.passage[s:e] == a.text and a.hit.highlights == [(s, e)]
    # only a passage that could answer too supports it: not the bread or marathon notes
    assert [h.path for h in a.supporting] == ["birds/burrows.md"]
    d = a.to_dict()
    assert d["span"] == [s, e] and d["hit"]["path"] == "birds/kingfisher.md"


def test_abstains_below_threshold(small):
    a = small.ask("zebra xylophone quantum")
    assert not a.answered and a.text is None and a.citation is None
    assert a.confidence < a.threshold


def test_declined_answer_points_to_the_closest_passage(small):
    a = small.ask("zebra xylophone quantum")
    assert not a.answered and a.closest is not None
    (s, e), = a.closest.highlights
    assert 0 <= s < e <= len(a.closest.text) and 0.0 <= a.closest.relevance <= 1.0
    assert a.to_dict()["closest"]["path"] == a.closest.path
    r = CliRunner().invoke(cli, ["ask", "zebra xylophone quantum", "--index", str(small.path)])
    assert "Closest passage (not an answer" in r.output and a.closest.path in r.output
    # an answer has no "closest": its passage is the answer's own
    assert small.ask("The entrance is a neat round hole about six centimetres across").closest is None


def test_pooled_term_falls_back_to_the_sentence_itself(small):
    """The hashing encoder stores no in-context sentence vectors: the pooled cosine is then
    the sentence's own, so the term cannot favour or punish such an index."""
    c = gather(small, "kingfisher burrow entrance")
    assert c.pooled is not None and (c.pooled == c.dense).all()


def test_filters_restrict_answers(small):
    a = small.ask("kingfisher", path="*.txt")
    assert a.supporting == [] or all(h.path.endswith(".txt") for h in a.supporting)
    assert not a.answered or a.path.endswith(".txt")
    a = small.ask("kingfisher", ext="pdf")
    assert not a.answered and a.supporting == []
    with pytest.raises(BadInput):
        small.ask("kingfisher", colour="red")
    with pytest.raises(BadInput):
        small.ask("  ")


def test_cli_exit_codes_and_json(small):
    runner = CliRunner()
    path = str(small.path)
    r = runner.invoke(cli, ["ask", "The entrance is a neat round hole about six centimetres "
                                   "across", "--index", path])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("The entrance is a neat round hole about six centimetres "
                               "across.\n  -- birds/kingfisher.md:3  (confidence ")
    r = runner.invoke(cli, ["ask", "zebra xylophone quantum", "--index", path, "--json"])
    assert r.exit_code == EXIT_NO_ANSWER == 4
    data = json.loads(r.output)
    assert data["answered"] is False and data["text"] is None
    r = runner.invoke(cli, ["ask", "zebra xylophone quantum", "--index", path])
    assert r.output.startswith("No answer found in the indexed documents")
    r = runner.invoke(cli, ["ask", "x", "--index", str(small.path) + "-missing"])
    assert r.exit_code == 1 and "Error: no index at" in r.output


def test_utility_calibration_separates_right_from_wrong(small):
    right = (gather(small, "The entrance is a neat round hole about six centimetres across"),
             "birds/kingfisher.md",
             "The entrance is a neat round hole about six centimetres across.")
    wrong = (gather(small, "zebra xylophone quantum"), None, None)
    same = lambda path, gold: path == gold  # noqa: E731
    t = calibrate_threshold_utility([right, wrong], DEFAULT_WEIGHTS, same)
    conf = [small.ask(q).confidence for q in ("The entrance is a neat round hole about six "
                                              "centimetres across", "zebra xylophone quantum")]
    assert conf[1] < t <= conf[0]
    # a wrong answer costs more than declining: with only it, nothing is answered
    assert calibrate_threshold_utility([wrong], DEFAULT_WEIGHTS, same) > conf[1]


def test_helpers():
    assert is_statement("She eats one rat every 10 to 14 days.")
    assert not is_statement("Temperature and humidity")
    assert not is_statement("What species are they?")
    assert answer_type_match("How often is Noodle fed?", "She eats every 10 days.") == 1
    assert answer_type_match("How often is Noodle fed?", "She eats rats.") == 0
    assert answer_type_match("When did it open?", "It opened in 1829.") == 1
    assert answer_type_match("Which wire was chosen?", "Music wire, in 1829.") == 0
    assert sentence_matches("A. The gold one. B.", "the gold  one.")


def test_answer_units():
    """A number in the unit asked for, not just any number."""
    temp = "What temperature is the water at the well?"
    assert answer_unit_match(temp, "It comes out at eleven degrees Celsius.") == 1
    assert answer_unit_match(temp, "A well was drilled in the 1890s, 30 metres deep.") == 0
    often = "How often is Noodle fed?"
    assert answer_unit_match(often, "She eats one rat every 10 to 14 days.") == 1
    assert answer_unit_match(often, "Noodle hatched in May 2021.") == 0
    years = "How many years until the battery pays for itself?"
    assert answer_unit_match(years, "He estimated a payback period of around nine years.") == 1
    assert answer_unit_match(years, "It keeps a reserve of ten percent.") == 0
    assert answer_unit_match("What interest rate do they charge?", "A rate of 6.5%.") == 1
    assert answer_unit_match("When was it in operation?", "It opened in 1829.") == 1
    assert answer_unit_match("When was it in operation?", "We went on a Saturday.") == 0
    assert answer_unit_match("Who owns a credit union?", "Its 4,000 members.") == 0


def test_headings_never_answer():
    text = "CANOE TRIP LOG - Three days on the Tessel River\n\nDay 1\nWe put in at eight."
    heading, day, body = split_sentences(text)
    assert is_heading(text, heading) and is_heading(text, day) is False
    assert not is_heading(text, body)
    prose = "A long line without a stop that wraps\ninto the next line and ends here."
    assert not any(is_heading(prose, s) for s in split_sentences(prose))
    assert not sentence_matches("Something else.", "The gold one.")


def test_qa_file_is_consistent():
    """Every gold answer is a sentence of its document (as the reader extracts it)."""
    from searchkit.readers import read_file

    assert len(QA) >= 40 and sum(q["doc"] is None for q in QA) >= 10
    for q in QA:
        if q["doc"]:
            text = " ".join(read_file(ROOT / q["doc"]).text.split())
            assert " ".join(q["answer"].split()) in text, q


def test_fresh_qa_file_is_consistent():
    """tests/data/qa_fresh.jsonl (benchmarks/qa_fresh.py): every gold answer is a sentence of
    its document; both halves hold answerable and unanswerable questions of both corpora."""
    from searchkit.readers import read_file

    fresh = [json.loads(line) for line in (DATA / "qa_fresh.jsonl").read_text().splitlines()
             if line]
    assert len(fresh) >= 45 and sum(q["doc"] is None for q in fresh) >= 10
    for half in (fresh[0::2], fresh[1::2]):
        assert {(q["corpus"], q["doc"] is None) for q in half} == {
            ("sample", True), ("sample", False), ("pkgdocs", True), ("pkgdocs", False)}
    for q in fresh:
        if q["doc"]:
            text = " ".join(read_file(ROOT / q["doc"]).text.split())
            assert " ".join(q["answer"].split()) in text, q


def _same_doc(path, gold):
    return bool(path) and os.path.abspath(path) == os.path.abspath(ROOT / gold)


@pytest.fixture(scope="module")
def qa_index(sample_index):
    idx = Index.open(sample_index)
    yield idx
    idx.close()


QUICK = range(0, len(QA), 8)  # every 8th line: answerable and unanswerable


@pytest.mark.slow
def test_quality_quick(qa_index, monkeypatch):
    """A few questions on the real model: right document, right sentence. About a minute
    on a busy 2-core machine, so with -m slow, beside test_quality_targets (all of them);
    the default run keeps test_readme_questions_right_or_silent on the real model."""
    monkeypatch.chdir(ROOT)
    cases = [(gather(qa_index, QA[i]["question"], context=False), QA[i]["doc"], QA[i]["answer"])
             for i in QUICK]
    m = evaluate(cases, DEFAULT_WEIGHTS, _same_doc)
    assert m["document_at_1"] >= 0.85 and m["sentence_at_1"] >= 0.5, m


def test_readme_questions_right_or_silent(sample_index_int8, onnx_cache, monkeypatch):
    """On the default encoder: the quickstart's question: the deposit-protection passage,
    or no answer at all; the README's ask example: the sentence that answers it, cited by
    its own page."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    qa_index = Index.open(sample_index_int8)
    a = qa_index.ask("what happens to my savings if the bank fails")
    assert not a.answered or "protect" in a.text, a.text
    if not a.answered:  # then it points to the passage that holds the answer
        assert a.closest.path.endswith("savings_accounts_compared.md")
        assert "Financial Services Compensation Scheme" in a.closest.text
    # in-context sentence vectors (stored at index time) feed the sentence choice
    c = gather(qa_index, "when was the lighthouse automated?", context=False)
    assert c.pooled is not None and (abs(c.pooled - c.dense) > 1e-3).any()
    a = qa_index.ask("when was the lighthouse automated?")
    assert a.answered and a.text == "The light was automated in 1980."
    assert a.citation == "sample_corpus/history/lighthouse_keepers.pdf#page=2" and a.page == 2


def test_preselect_keeps_the_closest_and_the_sentence_before_each():
    import numpy as np

    from searchkit.ask import _preselect

    stored = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.05], dtype=np.float32)
    hit_of = np.array([0, 0, 0, 1, 1, 1])
    keep = _preselect(stored, hit_of, 2)
    # the two closest (1 and 3), 1's predecessor 0; 3 opens its chunk, so none before it
    assert keep.tolist() == [True, True, False, True, False, False]
    assert _preselect(stored, hit_of, None) is None
    assert _preselect(stored, hit_of, 6) is None  # no more sentences than the budget
    stored[4] = np.nan  # a sentence without a stored vector: rank nothing, embed all
    assert _preselect(stored, hit_of, 2) is None


def test_preselected_answers_are_the_full_ones(sample_index_int8, onnx_cache, monkeypatch):
    """Embedding only the EMBED_TOP sentences closest in context (and the one before each)
    answers as embedding every candidate sentence does: same sentence, same confidence."""
    from searchkit.ask import EMBED_TOP, choose

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    idx = Index.open(sample_index_int8)
    try:
        cut = 0
        for q in ("when was the lighthouse automated?",
                  "what happens to my savings if the bank fails",
                  "How long did the 2019 floodwater stay on the pasture?"):
            idx.cache.clear("ask_vectors")
            full = gather(idx, q, embed_top=None, context=False)
            idx.cache.clear("ask_vectors")
            part = gather(idx, q, context=False)
            assert full.embedded is None
            if part.embedded is not None:
                cut += 1
                assert part.embedded.sum() < len(part.sentences)
            a, b = choose(full), choose(part)
            assert (a.answered, a.text, a.path) == (b.answered, b.text, b.path), q
            assert a.confidence == pytest.approx(b.confidence, abs=1e-5), q
        assert cut, f"no question had more than {EMBED_TOP} candidate sentences"
    finally:
        idx.close()


def test_a_sentence_vector_does_not_depend_on_its_batch(sample_index_int8, onnx_cache,
                                                        monkeypatch):
    """The int8 model quantizes activations per batch: ask embeds one sentence per call so
    that an answer never depends on which other sentences were embedded with it."""
    import numpy as np

    from searchkit.ask import _embed

    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    idx = Index.open(sample_index_int8)
    try:
        s = "The light was automated in 1980."
        others = ["A short one.", "A much longer sentence, padded out with many more words "
                  "than the first one has, so that the batch holds padding."] * 4
        idx.cache.clear("ask_vectors")
        alone = _embed(idx, [s])[0]
        idx.cache.clear("ask_vectors")
        together = _embed(idx, others + [s])[-1]
        assert np.array_equal(alone, together)
    finally:
        idx.close()


@pytest.mark.slow
def test_quality_targets(qa_index, monkeypatch):
    """The whole Q&A set on the real model (run with -m slow): the issue's targets."""
    monkeypatch.chdir(ROOT)
    cases = [(gather(qa_index, q["question"], context=False), q["doc"], q["answer"]) for q in QA]
    m = evaluate(cases, DEFAULT_WEIGHTS, _same_doc)
    assert m["document_at_1"] >= 0.9 and m["sentence_at_1"] >= 0.7, m
    # the threshold is calibrated on qa.jsonl's and qa_fresh.jsonl's even lines together
    # (benchmarks/qa_fresh.py): stricter than qa.jsonl alone asks for, so it declines more
    # of these answerable questions (0.20 with minilm-int8) and every unanswerable one
    assert m["correct_abstention"] >= 0.9 and m["wrongful_abstention"] <= 0.25, m
