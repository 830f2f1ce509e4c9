import json
import random
from itertools import zip_longest
S = "sample_corpus/"
P = "benchmarks/data/pkgdocs/"
ans = [
 (S+"finance/savings_accounts_compared.md", "what happens to my savings if the bank fails", "In the UK, deposits are protected up to 85,000 per person per banking licence by the Financial Services Compensation Scheme."),
 (P+"defusedxml.rst", "How much memory does the string produced by the billion laughs attack occupy?", "The resulting string occupies 3 GB (2.79 GiB) of memory; intermediate strings require additional memory."),
 (S+"cooking/sourdough_starter.md", "how long should sourdough starter be fed before baking?", "It is ready to use when it has doubled and smells pleasantly tangy, usually after six to eight hours in a warm kitchen."),
 (P+"defusedxml.rst", "When was the billion laughs attack first reported?", "Billion laughs was first reported in 2003."),
 (S+"nature/river_bank_erosion.md", "how do rivers wear away their sides", "Water moves fastest on the outside of a meander, and that faster current scours the toe of the slope."),
 (P+"defusedxml.rst", "How does a quadratic blowup attack differ from billion laughs?", "Instead of nested entities it repeats one large entity with a couple of thousand chars over and over again."),
 (S+"history/lighthouse_keepers.pdf", "When was the lighthouse at Skerrow Head automated?", "The light was automated in 1980."),
 (P+"defusedxml.rst", "Which XML library disables network access by default but still allows local file entity expansion?", "Some XML libraries such as lxml disable network access by default but still allow entity expansion with local file access by default."),
 (S+"history/lighthouse_keepers.pdf", "How tall is the Skerrow Head lighthouse tower?", "The tower is 31 metres tall and built of granite blocks carried up the cliff path by packhorse."),
 (P+"defusedxml.rst", "What can an attacker do with a few hundred bytes of XML against a vulnerable library?", "With just a few hundred **Bytes** of XML data an attacker can occupy several **Gigabytes** of memory within **seconds**."),
 (S+"history/lighthouse_keepers.pdf", "How many crew did the keepers rescue from the Margaret Ann?", "Principal keeper Thomas Rowe and his assistant rowed out in the station boat and brought back five of the seven crew."),
 (P+"h11.rst", "Does h11 do any network I/O itself?", "It's a \"bring-your-own-I/O\" library; h11 contains no IO code whatsoever."),
 (S+"history/lighthouse_keepers.pdf", "How many steps is the climb to the top of the lighthouse?", "The tower is open to visitors on summer weekends, and the climb is 114 steps."),
 (P+"h11.rst", "How big is the h11 codebase?", "The whole library is ~800 lines-of-code."),
 (S+"finance/harbourside_cooperative_bank_report.pdf", "How many new home loans did the Harbourside bank approve?", "We approved 1,140 new home loans, the majority for first-time buyers in the harbour towns."),
 (P+"h11.rst", "What test coverage does h11 have?", "It has a test suite with 100.0% coverage for both statements and branches."),
 (S+"nature/wetland_restoration_survey.pdf", "How long was the floodplain wet over winter after the wetland restoration?", "Loggers in the meadows show the floodplain was wet for 94 days over winter, compared with almost none before the works."),
 (P+"h11.rst", "What is the last h11 release that works on Python 2?", "The last Python 2-compatible version was h11 0.11.x."),
 (S+"nature/wetland_restoration_survey.pdf", "How many lapwing pairs bred at the restored wetland?", "Volunteers counted eleven pairs of lapwing and four pairs of redshank, up from two pairs of lapwing in the baseline year."),
 (P+"h11.rst", "What exception does h11 raise when a peer breaks the HTTP protocol?", "If either side violates the protocol, you'll get a ``h11.ProtocolError`` exception."),
 (S+"cooking/sourdough_starter.md", "Why do you rest the dough before adding the starter?", "This rest, called an autolyse, lets the flour absorb the water and makes the dough easier to stretch."),
 (P+"h11.rst", "Which part of the HTTP/1.1 specification does h11 implement?", "Roughly speaking, it's trying to be a robust, complete, and non-hacky implementation of the first \"chapter\" of the HTTP/1.1 spec: `RFC 7230: HTTP/1.1 Message Syntax and Routing <https://tools.ietf.org/html/rfc7230>`_."),
 (S+"cooking/sourdough_starter.md", "At what temperature is the sourdough loaf baked?", "Bake straight from the fridge in a preheated cast-iron pot at 250 degrees Celsius with the lid on for 20 minutes, then lid off at 230 degrees for another 25."),
 (P+"msgpack.md", "Which functions pack and unpack in one shot in msgpack?", "Use `packb` for packing and `unpackb` for unpacking."),
 (S+"finance/credit_union_vs_bank.md", "Is a credit union as safe as a bank for savings?", "Both are covered by the same deposit protection scheme, up to the same limit."),
 (P+"msgpack.md", "Can the msgpack C extension be used on PyPy?", "The extension module in msgpack (`msgpack._cmsgpack`) does not support PyPy."),
 (P+"msgpack.md", "What happens to an Unpacker after unpack() raises an exception other than OutOfData?", "If `Unpacker.unpack()` stops with an exception other than `OutOfData`, that `Unpacker` cannot be reused."),
 (P+"msgpack.md", "What do I need to build msgpack on Windows without a binary wheel?", "If you can't use a binary distribution, you need to install Visual Studio or the Windows SDK on Windows."),
 (P+"threadpoolctl.md", "Why would I want to control the size of native thread pools?", "Fine control of the underlying thread-pool size can be useful in workloads that involve nested parallelism so as to mitigate oversubscription issues."),
 (P+"threadpoolctl.md", "Where does the threadpoolctl command line tool write its JSON output?", "The JSON information is written on STDOUT."),
 (P+"sortedcontainers.rst", "How much memory does each reference stored in a sorted list take?", "Each reference requires eight bytes in the sorted container."),
 (P+"sortedcontainers.rst", "Do I need a C compiler to install Sorted Containers?", "There's no need to install a C compiler or pre-build and distribute custom extensions."),
 (P+"sortedcontainers.rst", "How does the memory overhead of Sorted Containers compare with a binary tree?", "It's also 66% less overhead than a typical binary tree implementation (e.g. Red-Black Tree, AVL-Tree, AA-Tree, Splay-Tree, Treap, etc.) for which every node must also store two pointers to children nodes."),
 (P+"sortedcontainers.rst", "Which open source projects use Sorted Containers?", "`Sorted Containers`_ is used in popular open source projects such as: `Zipline`_, an algorithmic trading library from Quantopian; `Angr`_, a binary analysis platform from UC Santa Barbara; `Trio`_, an async I/O library; and `Dask Distributed`_, a distributed computation library supported by Continuum Analytics."),
 (P+"pathspec.rst", "What kind of patterns can pathspec match so far?", "So far this only includes Git's `gitignore`_ pattern matching."),
 (P+"pathspec.rst", "Which pathspec class follows Git's actual ignore behaviour more closely than the documented patterns?", "``GitIgnoreSpec`` handles these cases to more closely replicate Git's behavior::"),
 (S+"finance/savings_accounts_compared.md", "How much interest can a basic-rate taxpayer earn tax-free?", "The personal savings allowance means basic-rate taxpayers can earn 1,000 of interest a year tax-free."),
 (S+"history/lighthouse_keepers.pdf", "What fuel did the lighthouse burn before paraffin?", "In the early years the light burned colza oil pressed from rapeseed; paraffin replaced it in the 1870s."),
]
neg = [
 ("sample", "when was the bridge rebuilt?"),
 ("pkgdocs", "How do I configure TLS certificates for an h11 connection?"),
 ("sample", "What is the minimum deposit for a cash ISA?"),
 ("pkgdocs", "How do I serialize a pandas DataFrame with msgpack?"),
 ("sample", "What is the penalty for withdrawing early from a notice account?"),
 ("pkgdocs", "How do I limit the number of CUDA streams with threadpoolctl?"),
 ("sample", "How fast does a kingfisher dive into the water?"),
 ("pkgdocs", "What is the default timeout of an h11 connection?"),
 ("sample", "Who designed the lighthouse at Skerrow Head?"),
 ("pkgdocs", "Which version of pathspec added support for Mercurial hgignore files?"),
 ("sample", "How much does it cost to stay in the lighthouse keepers' cottages?"),
 ("pkgdocs", "How many CPU cores does psutil need to run?"),
]
rows = [dict(question=q, doc=d, answer=a, corpus="sample" if d.startswith(S) else "pkgdocs") for d, q, a in ans]
neg_rows = [dict(question=q, doc=None, answer=None, corpus=c) for c, q in neg]

# even lines = calibration split, odd lines = held-out split; each gets every other
# answerable and every other unanswerable question
cal, held = [], []
for group in ([r for r in rows if r["corpus"] == "sample"], [r for r in rows if r["corpus"] == "pkgdocs"],
              [r for r in neg_rows if r["corpus"] == "sample"], [r for r in neg_rows if r["corpus"] == "pkgdocs"]):
    cal += group[0::2]
    held += group[1::2]
random.Random(0).shuffle(cal)
random.Random(1).shuffle(held)
out = [x for pair in zip_longest(cal, held) for x in pair if x is not None]
with open("tests/data/qa_fresh.jsonl", "w") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
print(len(out), sum(r["doc"] is None for r in out))
for half in (out[0::2], out[1::2]):
    print(len(half), sum(r["doc"] is None for r in half), sum(r["corpus"]=="sample" for r in half))
