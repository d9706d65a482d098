"""Writes a realistic synthetic consultation export for the end-to-end benchmarks (never committed).

    python3 bench/make_export.py OUT.csv [--respondents N] [--seed S] [--polis DIR]

A Citizen Space-style CSV (UTF-8 with BOM, CRLF, RFC 4180 quoting): Response ID, respondent
type, district, one closed question and three open questions, N respondents (default 10,000).
The open answers are put together at run time from the fixture's invented answers
(fixtures/make_fixture.py) and the real Polis statements in SHARED/data/polis (read here,
never copied into the repository):

  * ~7% of answers are blank or say nothing ("", "n/a", "No comment", ...);
  * 15% are campaign duplicates: a few template texts, about a third of them with small
    edits (a word changed, a line added, a typo);
  * the rest are made of source sentences, combined and lightly varied so most are distinct,
    to a length drawn from a long-tailed distribution: 3-15 words common, a tail past 200.

Deterministic: the same seed and sources give a byte-identical file. Prints a summary
(answers, blank, campaign, distinct texts, word-length percentiles) on stderr.
"""
import argparse
import csv
import importlib.util
import io
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

QUESTIONS = [
    "Do you have any comments on the Clean, Green Future outcome?",
    "Do you have any comments on the Strong Economy, Transport and Infrastructure outcome?",
    "Is there anything else you would like to tell us about the draft Strategic Plan?",
]
CLOSED = "To what extent do you agree or disagree with the draft Strategic Plan overall?"
HEADER = ["Response ID", "Are you responding as...", "District", CLOSED] + QUESTIONS
SCALE = ["Strongly agree", "Tend to agree", "Neither agree nor disagree", "Tend to disagree",
         "Strongly disagree", "Don't know", ""]
SCALE_W = [22, 33, 14, 12, 9, 4, 6]
TYPES = [("A resident", 88), ("On behalf of an organisation", 5), ("A partner organisation", 3),
         ("A county councillor", 1), ("A business", 3)]
DISTRICTS = [("Blaby", 101), ("Charnwood", 185), ("Harborough", 97), ("Hinckley and Bosworth", 113),
             ("Melton", 51), ("North West Leicestershire", 104), ("Oadby and Wigston", 57), ("", 30)]
PLACES = ["Loughborough", "Hinckley", "Melton Mowbray", "Market Harborough", "Coalville", "Lutterworth",
          "Ashby", "Wigston", "Oadby", "Shepshed", "Syston", "Birstall", "Earl Shilton", "Broughton Astley",
          "Castle Donington", "Kibworth", "Anstey", "Narborough", "Enderby", "Groby", "Quorn", "Sileby"]

BLANKS = ["", "", "", "n/a", "N/A", "No comment", "none", "-", "Nothing", "No", "nothing to add", "."]
P_BLANK = 0.07
P_CAMPAIGN = 0.15

# Campaign templates (invented; the places are real Leicestershire towns, the park is fictional),
# with the questions they are sent to.
CAMPAIGNS = [
    ((0, 2), "I strongly object to any plans to build houses on Brookfield Vale Country Park. It is a "
             "vital green space for wildlife and for local families. The council must protect it "
             "permanently and commit to this in the Clean, Green Future outcome."),
    ((0,), "Say no to the solar farm at Thorpe Lubenham. It will take 200 acres of productive farmland "
           "out of use for forty years, ruin the views from the footpaths and bring months of lorries "
           "through the village. Put solar panels on warehouse roofs instead."),
    ((1, 2), "Save the 47 bus. It is the only bus between our villages and Loughborough and without it "
             "older residents, young people and anyone who cannot drive will be cut off from the "
             "hospital, the college and the shops. Please keep funding it."),
    ((1,), "The council must fix the potholes on the A6006 before spending money on anything else in "
           "this plan. The road is dangerous for cyclists and motorcyclists and is costing drivers "
           "hundreds of pounds in damage to tyres and suspension."),
    ((2,), "As members of Friends of Coalville Library we call on the council to keep every community "
           "library open with paid staff. Libraries are warm, free and safe places for children, older "
           "people and job seekers, and volunteers alone cannot run them."),
]
CAMPAIGN_W = [30, 15, 25, 20, 10]

OPENERS = ["", "", "", "", "I think ", "In my opinion ", "Personally I feel ", "Honestly, ", "To be honest ",
           "As a resident, ", "My view is that ", "I would say "]
CLOSERS = ["", "", "", "", "", " Thanks.", " Thank you.", " Please act on this.", " Just my opinion.",
           " That's all.", "!!", " Please listen to residents."]
LINKS = [" ", " ", " ", " Also, ", " Secondly, ", " On top of that, ", " Another thing: ", " And ",
         "\r\n", "\r\n\r\n", " Finally, ", " I would add that "]
CONTEXT = [
    "I have lived in {place} for {n} years.",
    "We moved to {place} {n} years ago with two young children.",
    "I am retired and live just outside {place}.",
    "I work in {place} and commute by car every day because there is no bus that fits my shifts.",
    "Speaking as a parent in {place}, this matters a great deal to our family.",
    "I have been a volunteer in {place} for {n} years.",
    "My mother lives alone in {place} and relies on the council for a lot.",
    "I run a small business in {place} with {n} staff.",
]


# Word swaps, places and reasons for per-sentence variation, so that sentences made from the
# same source read as different answers (real answers rarely repeat beyond campaigns).
SWAPS = [("council", "County Council"), ("Council", "LCC"), ("really", "very"), ("please", "pls"),
         ("Please", "Can you please"), ("more", "a lot more"), ("need", "really need"), ("road", "street"),
         ("roads", "streets"), ("should", "must"), ("must", "should"), ("people", "residents"),
         ("residents", "local people"), ("children", "kids"), ("money", "funding"), ("very", "extremely"),
         ("town", "village"), ("village", "town"), ("is", "is definitely"), ("the", "our"), ("We", "We all"),
         ("I", "Myself, I"), ("good", "great"), ("bad", "terrible"), ("support", "back")]
REASONS = ["because it affects everyone", "as things stand it is not good enough", "for the sake of our children",
           "since it costs more in the long run", "because nobody else will", "as I said last time",
           "which I raised at the last parish meeting", "as it has got worse since the pandemic",
           "because older people are struggling", "which would make a real difference"]


def perturb(rng, s):
    """Light changes to one source sentence: a word swapped, a place or a reason added, a typo."""
    u = rng.random()
    if u < 0.30:
        ws = s.split(" ")
        hits = [(i, b) for i, w in enumerate(ws) for a, b in SWAPS if w == a]
        if hits:
            i, b = rng.choice(hits)
            ws[i] = b
            s = " ".join(ws)
    elif u < 0.42:
        end = s[-1] if s[-1:] in ".!?" else ""
        s = s[:len(s) - len(end)] + " in " + rng.choice(PLACES) + (end or ".")
    elif u < 0.52:
        end = s[-1] if s[-1:] in ".!?" else ""
        s = s[:len(s) - len(end)] + ", " + rng.choice(REASONS) + (end or ".")
    elif u < 0.60:
        s = typo(rng, s)
    return s


def load_fixture_pools():
    """The fixture's answer pools, by outcome, and its general pool (tone tags removed)."""
    spec = importlib.util.spec_from_file_location("make_fixture", os.path.join(ROOT, "fixtures", "make_fixture.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    strip = lambda pool: [r.split("|", 1)[1] for r in pool]
    topics = [strip(p) + strip(o) for p, o in zip(m.POOLS, m.ORG_POOLS)]
    return topics, strip(m.GENERAL_POOL)


def load_polis(polis_dir):
    out = []
    for f in sorted(os.listdir(polis_dir)):
        if not f.endswith(".csv"):
            continue
        with open(os.path.join(polis_dir, f), encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                t = " ".join(r["comment-body"].split())
                if len(t.split()) >= 3:
                    out.append(t)
    return out


SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“‘])")


def sentences(texts):
    out = []
    for t in texts:
        for s in SPLIT.split(" ".join(t.split())):
            if len(s.split()) >= 2:
                out.append(s)
    return out


def words(s):
    return len(s.split())


def vary(rng, s):
    """Small surface variation of an answer's start: opener, case, end punctuation."""
    o = rng.choice(OPENERS)
    if o and s[:1].isupper() and not s[:2].isupper():
        s = s[0].lower() + s[1:]
    s = o + s
    r = rng.random()
    if r < 0.10:
        s = s.lower()
    elif r < 0.15:
        s = s.rstrip(".!")
    return s


def close(rng, s):
    c = rng.choice(CLOSERS)
    return (s.rstrip(".!") if c.startswith("!") else s) + c


def typo(rng, s):
    ws = s.split(" ")
    cand = [i for i, w in enumerate(ws) if len(w) > 4 and w.isalpha()]
    if not cand:
        return s
    i = rng.choice(cand)
    w = ws[i]
    j = rng.randrange(1, len(w) - 2)
    ws[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(ws)


def target_length(rng):
    u = rng.random()
    if u < 0.58:
        return rng.randint(3, 15)
    if u < 0.83:
        return rng.randint(16, 40)
    if u < 0.96:
        return rng.randint(41, 130)
    return rng.randint(131, 380)


class Sources:
    def __init__(self, topics, general, polis):
        # Per question: the sentences it mostly draws on; every question also borrows from the rest.
        allt = [s for t in topics for s in t]
        self.by_q = [sentences(topics[0]), sentences(topics[3]), sentences(allt + general)]
        self.other = sentences(general + polis + allt)
        self.polis = sentences(polis)
        self.whole_by_q = [topics[0], topics[3], allt + general]

    def sentence(self, rng, q, max_words=None):
        u = rng.random()
        pool = self.by_q[q] if u < 0.6 else (self.polis if u < 0.85 else self.other)
        if max_words is None:
            return rng.choice(pool)
        for _ in range(20):
            s = rng.choice(pool)
            if words(s) <= max_words:
                return s
        return rng.choice([s for s in self.by_q[q] if words(s) <= max_words] or pool)


def answer(rng, src, q):
    n = target_length(rng)
    if n <= 15:
        return close(rng, vary(rng, perturb(rng, src.sentence(rng, q, max_words=max(n, 4)))))
    parts = []
    if n > 60 and rng.random() < 0.5:
        parts.append(rng.choice(CONTEXT).format(place=rng.choice(PLACES), n=rng.randint(2, 45)))
    elif rng.random() < 0.3:
        # A whole fixture answer as the core, as written.
        parts.append(rng.choice(src.whole_by_q[q]))
    while sum(words(p) for p in parts) < n:
        parts.append(perturb(rng, src.sentence(rng, q)))
    text = vary(rng, parts[0])
    for p in parts[1:]:
        link = rng.choice(LINKS)
        if link.strip() and p[:1].isupper() and not p[:2].isupper():
            p = p[0].lower() + p[1:]
        text += link + p
    return close(rng, text)


def campaign(rng, q):
    choices = [(i, c) for i, c in enumerate(CAMPAIGNS) if q in c[0]]
    i, (_, text) = rng.choices(choices, weights=[CAMPAIGN_W[i] for i, _ in choices])[0]
    u = rng.random()
    if u < 0.67:
        return text
    if u < 0.75:
        return "I agree with the following. " + text
    if u < 0.83:
        return text + " " + rng.choice(CONTEXT).format(place=rng.choice(PLACES), n=rng.randint(2, 45))
    if u < 0.91:
        return typo(rng, text)
    return text.replace("The council must", "The County Council should").replace("Please keep", "Keep")


def make_ids(rng, n):
    alphabet = "123456789ABCDEFGHJKMNPQRSTUVWXYZ"
    seen, out = set(), []
    while len(out) < n:
        rid = "ANON-" + "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(3))
        if rid not in seen:
            seen.add(rid)
            out.append(rid)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--respondents", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--polis", default=os.path.join(os.environ.get("SHARED", os.path.join(ROOT, "..", "shared")), "data", "polis"))
    a = ap.parse_args()
    if not os.path.isdir(a.polis):
        sys.exit(f"{a.polis}: Polis statements not found; pass --polis DIR (SHARED/data/polis)")
    topics, general = load_fixture_pools()
    src = Sources(topics, general, load_polis(a.polis))
    rng = random.Random(a.seed)
    rows = []
    n_blank = n_camp = 0
    for rid in make_ids(rng, a.respondents):
        rtype = rng.choices([t for t, _ in TYPES], weights=[w for _, w in TYPES])[0]
        district = rng.choices([d for d, _ in DISTRICTS], weights=[w for _, w in DISTRICTS])[0]
        closed = rng.choices(SCALE, weights=SCALE_W)[0]
        row = [rid, rtype, district, closed]
        for q in range(len(QUESTIONS)):
            u = rng.random()
            if u < P_BLANK:
                row.append(rng.choice(BLANKS))
                n_blank += 1
            elif u < P_BLANK + P_CAMPAIGN:
                row.append(campaign(rng, q))
                n_camp += 1
            else:
                row.append(answer(rng, src, q))
        rows.append(row)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "wb") as f:
        f.write(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))

    cells = [r[4 + q] for r in rows for q in range(len(QUESTIONS))]
    lens = sorted(words(c) for c in cells if c.strip())
    pct = lambda p: lens[min(len(lens) - 1, int(p * len(lens)))]
    distinct = len({" ".join(c.split()) for c in cells if c.strip()})
    print(f"make_export: {a.out}: {len(rows)} respondents x {len(QUESTIONS)} questions = {len(cells)} answers; "
          f"{n_blank} blank/non-substantive, {n_camp} campaign, {distinct} distinct non-empty texts; "
          f"words p10/p50/p90/p99/max {pct(.1)}/{pct(.5)}/{pct(.9)}/{pct(.99)}/{lens[-1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
