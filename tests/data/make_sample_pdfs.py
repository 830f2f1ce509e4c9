"""Generate the three sample PDF documents in ``sample_corpus/``.

Run from anywhere with the project venv::

    python tests/data/make_sample_pdfs.py

Uses fpdf2 with the core Helvetica font and ASCII-only text so that pypdf
extracts the text cleanly. Each PDF has a Title in its metadata and at
least two pages. Output is deterministic (fixed creation date).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "sample_corpus"
FIXED_DATE = _dt.datetime(2024, 1, 15, 12, 0, 0, tzinfo=_dt.UTC)

# Each document: (relative path, title, author, subject, pages)
# where pages is a list of pages, each a list of (kind, text) blocks,
# kind being "h" for a heading or "p" for a paragraph.
DOCUMENTS = [
    (
        "finance/harbourside_cooperative_bank_report.pdf",
        "Harbourside Cooperative Bank: Annual Member Summary 2023",
        "Harbourside Cooperative Bank",
        "Annual summary for members",
        [
            [
                ("h", "Harbourside Cooperative Bank: Annual Member Summary 2023"),
                ("p", "This summary is sent to every member each spring, ahead of the annual general meeting. "
                      "It explains in plain language how the bank used the money that members deposited with us "
                      "during the year, and how the results compare with the year before."),
                ("h", "Deposits"),
                ("p", "Member deposits grew by 6 percent to 412 million. Most of the growth came from the "
                      "ninety-day notice account, which paid a rate of 3.9 percent for most of the year. "
                      "The number of members rose to 58,300, and almost a quarter of new members joined "
                      "through the app rather than in a branch."),
                ("h", "Lending"),
                ("p", "We approved 1,140 new home loans, the majority for first-time buyers in the harbour towns. "
                      "The average loan was 187,000 and the average loan-to-value ratio at approval was 78 percent. "
                      "Lending to local small businesses reached 36 million, mostly term loans for equipment, "
                      "vehicles and shop refits. Arrears remain low: fewer than one in two hundred mortgage "
                      "accounts were three months or more behind with repayments at the end of December."),
            ],
            [
                ("h", "Interest rates"),
                ("p", "The central bank raised its base rate twice during the first half of the year. "
                      "We passed on the increases to savers in full within one month each time, and we delayed "
                      "increases on our standard variable mortgage rate by six weeks to give borrowers time to "
                      "plan. Members coming to the end of a fixed deal were contacted three months in advance "
                      "and offered a new product without fresh affordability checks."),
                ("h", "Financial strength"),
                ("p", "Profit before tax was 9.8 million. As a mutual, we have no external shareholders, so all "
                      "profit is retained to strengthen our capital base or returned to members through better "
                      "rates. Our capital ratio ended the year at 17.2 percent, comfortably above the regulatory "
                      "minimum."),
                ("h", "Community fund"),
                ("p", "The community fund gave 240,000 in grants to 61 local organisations, including a "
                      "sailing club for disabled young people, two food banks, and a debt advice service run "
                      "from the library. Members can nominate a local cause through the website until the end "
                      "of June."),
                ("h", "Annual general meeting"),
                ("p", "The meeting takes place at the Harbour Hall. Members may vote in person, by post or online, "
                      "on the re-election of three board directors and on the remuneration report."),
            ],
        ],
    ),
    (
        "nature/wetland_restoration_survey.pdf",
        "Wetland Restoration Survey: Lower Fenner Valley",
        "Fenner Valley Rivers Trust",
        "Survey report for volunteers",
        [
            [
                ("h", "Wetland Restoration Survey: Lower Fenner Valley"),
                ("p", "This report summarises the second year of monitoring at the Lower Fenner restoration site, "
                      "where an embanked river channel was reconnected to its former floodplain in autumn 2021. "
                      "The work was carried out by the Rivers Trust with the landowner, and the survey was done "
                      "by eighteen volunteers over six field days."),
                ("h", "What was changed"),
                ("p", "For more than a century the river had been confined between raised earth embankments to "
                      "protect farmland from flooding. The restoration lowered the left bank along a 700 metre "
                      "stretch, so that high water can spill into the old meadows instead of rushing downstream "
                      "towards the town. Three shallow scrapes were dug in the meadows to hold water into early "
                      "summer, and a drainage ditch was blocked with timber dams."),
                ("h", "Water levels"),
                ("p", "Loggers in the meadows show the floodplain was wet for 94 days over winter, compared with "
                      "almost none before the works. During the February storm, peak flow at the town gauge "
                      "arrived about five hours later than in comparable storms before the restoration, which "
                      "gives residents extra time to prepare."),
            ],
            [
                ("h", "Wildlife"),
                ("p", "Breeding waders have responded quickly. Volunteers counted eleven pairs of lapwing and "
                      "four pairs of redshank, up from two pairs of lapwing in the baseline year. Snipe were heard "
                      "drumming in April for the first time in living memory. Water vole signs, such as feeding "
                      "stations and latrines, were found along the new soft margins, where the grass slopes gently "
                      "into the shallows."),
                ("h", "Vegetation"),
                ("p", "Reed sweet-grass and yellow flag iris have spread naturally into the scrapes. Invasive "
                      "Himalayan balsam appeared along the upstream edge and was pulled by hand in July before it "
                      "could set seed. Willow is colonising the lowered bank by itself, which will help stabilise "
                      "the soil."),
                ("h", "Recommendations"),
                ("p", "Continue the monitoring for at least three more years. Keep cattle grazing at a light level "
                      "in late summer to maintain the short sward that waders prefer. Repeat the balsam pulls every "
                      "July, and install a second water level logger in the eastern scrape, where the first one "
                      "failed in January."),
            ],
        ],
    ),
    (
        "history/lighthouse_keepers.pdf",
        "The Lighthouse Keepers of Skerrow Head",
        "Skerrow Heritage Group",
        "Local history booklet",
        [
            [
                ("h", "The Lighthouse Keepers of Skerrow Head"),
                ("p", "The lighthouse at Skerrow Head was first lit on 1 November 1848, after a string of "
                      "shipwrecks on the reef below the headland. The tower is 31 metres tall and built of "
                      "granite blocks carried up the cliff path by packhorse. For 132 years it was looked after "
                      "by resident keepers, and this booklet gathers what the heritage group has learned about "
                      "their lives."),
                ("h", "The daily routine"),
                ("p", "Three keepers lived at the station, working in watches so that someone was awake in the "
                      "lantern room all night. Before dusk they trimmed the wicks, polished the brass, and cleaned "
                      "the great glass lens until it had no smear at all. In the early years the light burned "
                      "colza oil pressed from rapeseed; paraffin replaced it in the 1870s. During fog the keepers "
                      "had to sound the horn every ninety seconds, sometimes for days without a break."),
                ("h", "Families"),
                ("p", "Wives and children lived in the cottages beside the tower. The children walked four miles "
                      "each way to the village school, and in winter storms they sometimes stayed with relatives "
                      "in the village for weeks at a time. Supplies came by boat once a fortnight in summer."),
            ],
            [
                ("h", "The wreck of the Margaret Ann"),
                ("p", "On a January night in 1886 the coal brig Margaret Ann struck the reef in a gale. Principal "
                      "keeper Thomas Rowe and his assistant rowed out in the station boat and brought back five "
                      "of the seven crew. Both men later received silver medals for gallantry, and the oar that "
                      "Rowe used hangs today in the village church."),
                ("h", "Automation"),
                ("p", "The light was automated in 1980. The last keepers left on a grey morning in March, and "
                      "the station is now monitored remotely from a control centre on the mainland. The cottages "
                      "were sold and two of them are now holiday lets."),
                ("h", "Visiting"),
                ("p", "The tower is open to visitors on summer weekends, and the climb is 114 steps. The heritage "
                      "group is still collecting photographs, letters and memories from the families of former "
                      "keepers, and would be glad to hear from anyone who can help."),
            ],
        ],
    ),
]


def build(rel_path: str, title: str, author: str, subject: str, pages) -> Path:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_subject(subject)
    pdf.set_creator("searchkit tests/data/make_sample_pdfs.py")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 20, 20)
    for page in pages:
        pdf.add_page()
        for kind, text in page:
            text.encode("ascii")  # PDFs must stay ASCII-only
            if kind == "h":
                pdf.set_font("Helvetica", style="B", size=14)
                pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
            else:
                pdf.set_font("Helvetica", size=11)
                pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(4)
    out = CORPUS / rel_path
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    return out


def main() -> None:
    for rel_path, title, author, subject, pages in DOCUMENTS:
        out = build(rel_path, title, author, subject, pages)
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
