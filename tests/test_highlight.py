"""Sentence spans and highlights: spans slice exactly to the highlighted sentence."""

import json

import pytest
from click.testing import CliRunner

from searchkit import Index
from searchkit.cli import cli
from searchkit.cli.base import _snippet
from searchkit.highlight import best_spans, lexical_overlap, split_sentences

TEXT = ("Ball Python Care\n\nShe lives in a 120 x 60 cm vivarium. Humidity must stay between 60 "
        "and 70 percent.\nDr. Okafor checks her e.g. every September. Is she shy? Yes!\n"
        "- Feed one rat\n- every 10 days\n\nA PDF line that wraps in the middle of a sentence and "
        "goes on\nto the next line before it ends.")


def test_sentences_slice_exactly():
    sents = split_sentences(TEXT)
    for s in sents:
        assert TEXT[s.start:s.end] == s.text
        assert s.text == s.text.strip()
    assert [s.text for s in sents] == [
        "Ball Python Care",
        "She lives in a 120 x 60 cm vivarium.",
        "Humidity must stay between 60 and 70 percent.",
        "Dr. Okafor checks her e.g. every September.",
        "Is she shy?",
        "Yes!",
        "Feed one rat",
        "every 10 days",
        "A PDF line that wraps in the middle of a sentence and goes on\nto the next line before "
        "it ends.",
    ]


@pytest.mark.parametrize("text", ["", "   ", "no end mark", "a.b.c", "...", "3.5 kg. Then."])
def test_sentences_never_break_offsets(text):
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text


def test_lexical_overlap_weights_rare_words():
    scores = lexical_overlap("humidity of the vivarium", ["Humidity is high.", "The vivarium.",
                                                          "Nothing here."])
    assert scores[2] == 0 and scores[0] > 0 and scores[1] > 0


def test_best_spans_keeps_close_runners_up():
    sents = split_sentences("One two. Three four. Five six.")
    assert best_spans([0.1, 0.9, 0.88], sents, max_spans=2) == [(9, 20), (21, 30)]
    assert best_spans([0.1, 0.9, 0.5], sents, max_spans=2) == [(9, 20)]
    assert best_spans([], [], max_spans=2) == []


def test_snippet_marks_highlight_and_centres_on_it():
    text = "x " * 300 + "The answer sentence. " + "y " * 50
    a = text.index("The answer")
    s = _snippet(text, [(a, a + len("The answer sentence."))])
    assert "\x01The answer sentence.\x02" in s and s.startswith("... ")
    assert len(s) <= 330


@pytest.fixture
def small_index(tmp_path, hashing):
    idx = Index.create(tmp_path / "idx", encoder="hashing-test")
    idx.add_texts(["Kingfishers nest in sandy banks. The burrow entrance is six centimetres "
                   "wide. Eggs hatch after three weeks.",
                   "Sourdough needs a lively starter. Feed the starter flour and water daily."],
                  metadata=[{"path": "birds.md"}, {"path": "bread.txt"}])
    yield idx
    idx.close()


def test_search_highlights_slice_to_the_sentence(small_index):
    hits = small_index.search("burrow entrance wide", k=2, highlight=True)
    top = hits[0]
    assert top.path == "birds.md" and top.highlights
    a, b = top.highlights[0]
    assert top.text[a:b] == "The burrow entrance is six centimetres wide."
    d = top.to_dict()
    assert d["highlights"][0] == [a, b]
    assert d["highlights_in_document"][0] == [top.start_char + a, top.start_char + b]
    assert small_index.search("burrow", k=1)[0].highlights == []  # off unless asked


def test_cli_query_json_and_text_highlights(small_index):
    runner = CliRunner()
    path = str(small_index.path)
    r = runner.invoke(cli, ["query", "burrow entrance wide", "--index", path, "-k", "1",
                            "--json"])
    assert r.exit_code == 0, r.output
    hit = json.loads(r.output)["hits"][0]
    (a, b), = hit["highlights"]
    assert hit["text"][a:b] == "The burrow entrance is six centimetres wide."
    r = runner.invoke(cli, ["query", "burrow entrance wide", "--index", path, "-k", "1"],
                      color=True)
    assert "\x1b[1m" in r.output and "The burrow entrance is six centimetres wide." in r.output
    r = runner.invoke(cli, ["query", "burrow entrance wide", "--index", path, "-k", "1",
                            "--no-highlight", "--json"])
    assert json.loads(r.output)["hits"][0]["highlights"] == []


def test_cli_query_diverse(small_index):
    r = CliRunner().invoke(cli, ["query", "starter", "--index", str(small_index.path),
                                 "--chunks", "--diverse", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["hits"]) == 2
