#!/usr/bin/python3
"""Synthetic evaluation set for report de-identification (text/deid.go).

Takes clean report text — phantom CMR reports (cmrfm phantom) and real, already
de-identified MTSamples cardiology/MRI reports with every line that could still
hold an identifier dropped — and plants identifiers where hospital reports carry
them: a header block (patient, MRN, DOB, accession, exam date, referrer), the
clinical history ("Mrs Smith is a 64-year-old…", prior study dates), findings
communication ("discussed with Dr Patel on 4 March 2021, bleep 4432"), and a
footer (reporting and signing physicians with credentials, transcriptionist,
cc list with addresses, phone numbers, e-mail). Distractors that must survive
(blood pressures, sizes, doses, field strengths, eponyms such as Simpson's
method or the Bruce protocol) are mixed into the clinical text.

Written independently of the Go patterns: the name lists, ID, phone, address
and date formats below are what the set tests, nothing is read from the Go
code. Every planted identifier is recorded as a byte span (UTF-8 offsets) with
its type; "known" carries what ingest would know from the DICOM header
(PatientName as PN, PatientID, AccessionNumber, ReferringPhysicianName).

With --holdout the header, body and footer templates and the name, date,
phone, ID and address formats are a second set (plant_holdout), written before
the de-identifier was ever run on it: the figures on that set measure formats
the de-identifier was not tuned on.

Usage: make_deid_eval.py [--holdout] PHANTOM_REPORTS.jsonl MTSAMPLES_DIR OUT.jsonl.gz SEED
Standard library only.
"""
import gzip
import json
import random
import re
import sys

GIVEN = """Jane John Mary Robert Patricia Michael Linda William Elizabeth David Susan Richard Jessica Joseph Sarah
Thomas Karen Charles Nancy Christopher Lisa Daniel Margaret Matthew Sandra Anthony Ashley Mark Emily Donald Michelle
Steven Amanda Paul Melissa Andrew Deborah Joshua Stephanie Kenneth Rebecca Kevin Sharon Brian Laura George Cynthia
Timothy Kathleen Ronald Amy Edward Angela Jason Shirley Jeffrey Anna Ryan Brenda Jacob Pamela Gary Emma Nicholas
Nicole Eric Helen Jonathan Samantha Stephen Katherine Larry Christine Justin Debra Scott Rachel Brandon Carolyn
Benjamin Janet Samuel Catherine Gregory Maria Alexander Heather Frank Diane Patrick Ruth Raymond Julie Jack Olivia
Dennis Joyce Jerry Virginia Tyler Victoria Aaron Kelly Jose Lauren Adam Christina Nathan Joan Henry Evelyn Douglas
Judith Zachary Megan Peter Andrea Kyle Cheryl Ethan Hannah Walter Jacqueline Noah Martha Jeremy Gloria Christian
Teresa Keith Ann Roger Sara Terry Madison Gerald Frances Harold Kathryn Sean Janice Austin Jean Carl Abigail Arthur
Alice Lawrence Judy Dylan Sophia Jesse Grace Jordan Denise Bryan Amber Billy Doris Joe Marilyn Bruce Danielle Gabriel
Beverly Logan Isabella Albert Theresa Willie Diana Alan Natalie Juan Brittany Wayne Charlotte Elijah Marie Randy
Kayla Roy Alexis Vincent Lori Priya Rahul Anjali Vikram Deepa Arjun Sunita Rajesh Mohammed Fatima Ahmed Aisha Omar
Layla Hassan Zainab Yusuf Mei Wei Jun Li Hiroshi Yuki Kenji Akiko Min-jun Seo-yeon Oluwaseun Chinedu Ngozi Kwame
Abena Thabo Lerato Siobhan Niamh Ciaran Eilidh Ruairi Dmitri Olga Katarzyna Piotr Jurgen Annika Lars Ingrid Sven
Giulia Matteo Chiara Alejandro Lucia Mateo Camila Joao Beatriz Francois Amelie Quentina Bartholomew Xiomara
Thaddeus Oyelaran Zbigniew Rosalind Percival Ottoline Leopold Winifred""".split()

FAMILY = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson
Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell
Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks
Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons
Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods
Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter
Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone
Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan
Armstrong Hudson Carroll Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Willis
Carpenter Lawrence Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper
Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs Obrien Lynch Singh
Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le
O'Brien O'Connor McCarthy MacLeod Fitzgerald Okafor Adeyemi Mensah Nkosi Mahlangu Kowalski Nowak Wojcik Muller
Schneider Fischer Weber Rossi Russo Ferrari Esposito Bianchi Sharma Gupta Kumar Reddy Iyer Nair Chaudhry Khan Hussain
Rahman Ali Ahmed Malik Haddad Khoury Nakamura Tanaka Suzuki Watanabe Yamamoto Zhang Wang Liu Huang Zhao Park Choi
Jung Kang Zylberstein Quisenberry Vanterpool Oyelaran-Brooks Featherstonehaugh Abernathy Ravenscroft""".split()

STREETS = """Oak Maple Cedar Pine Elm Washington Lake Hill Park Main Church High Station Mill Victoria Queen King
Albert Manor Grove Chestnut Willow Birch Spring Meadow River Sunset Highland Jefferson Lincoln Madison Franklin""".split()
SUFFIX_US = ["Street", "St.", "Avenue", "Ave", "Road", "Rd", "Drive", "Boulevard", "Blvd", "Lane", "Court", "Way", "Place"]
SUFFIX_UK = ["Road", "Street", "Lane", "Close", "Crescent", "Avenue", "Gardens", "Terrace", "Drive", "Way", "Grove", "Mews"]
CITIES_US = [("Springfield", "IL"), ("Boston", "MA"), ("Palo Alto", "CA"), ("Houston", "TX"), ("Columbus", "OH"),
             ("Portland", "OR"), ("Madison", "WI"), ("Denver", "CO"), ("Atlanta", "GA"), ("Richmond", "VA")]
CITIES_UK = [("London", "SW1A"), ("Leeds", "LS1"), ("Manchester", "M13"), ("Oxford", "OX3"), ("Glasgow", "G12"),
             ("Cardiff", "CF14"), ("Bristol", "BS2"), ("Sheffield", "S10"), ("Newcastle", "NE1"), ("Birmingham", "B15")]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
CREDS = ["MD", "M.D.", "FRCR", "MBBS, FRCR", "FRCP", "PhD", "DO", "FACC", "MRCP", "MD, FSCMR"]

DISTRACTORS = [
    "Blood pressure at the time of scanning was 132/84 mmHg with a heart rate of 68 bpm.",
    "A 2.5 x 3.1 cm simple cyst is seen in the right kidney.",
    "A 1.8 × 2.2 cm pericardial cyst is noted at the right cardiophrenic angle.",
    "Height 176 cm, weight 82 kg, BSA 1.98 m2.",
    "Gadobutrol 0.15 mmol/kg was given intravenously.",
    "Imaging was performed on a 1.5 T scanner using the department's standard protocol.",
    "LV volumes were measured by Simpson's method of discs on the short axis stack.",
    "The patient previously completed 9 minutes of a Bruce protocol stress test.",
    "Troponin peaked at 1450 ng/L; NT-proBNP 2300 pg/mL.",
    "QRS duration 148 ms with left bundle branch block morphology.",
    "Peak velocity across the aortic valve 2.1 m/s by phase contrast.",
    "Native T1 1032 ms and ECV 27 % are within normal limits.",
    "Appearances are not typical of Takotsubo cardiomyopathy or Fabry disease.",
    "No features of Marfan syndrome; aortic root 34 mm at the sinuses of Valsalva.",
    "Doppler-derived gradients from the prior echo were 40/25 mmHg.",
    "Ejection fraction 35-40%, in keeping with the 3/17 segments showing scar.",
    "Previous CABG x3 in 2015 (LIMA to LAD, SVG to OM1 and RCA).",
    "Creatinine 88 umol/L, eGFR > 60 ml/min/1.73m2.",
    "Indexed LV mass 64 g/m2 (normal range 45-81 g/m2).",
    "Scar burden 12 % of LV mass by the 5SD method.",
]

UNSAFE = re.compile(r"\b(Dr|Mr|Mrs|Ms|Miss|Prof)\b\.?|\b(" + "|".join(m[:3] for m in MONTHS) + r")[a-z]*\b"
                    r"|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}/\d{4}|\b(19|20)\d\d\b|Hospital|Clinic|Center|Centre|\d{5,}"
                    r"|\b[A-Z][a-z]+ [A-Z][a-z]+\b|@|\bTel|\bphone|\bMRN\b|\bAccession|\bSt\.|\bcall\b")


class Builder:
    """Text assembled piece by piece with the byte span of each identifier."""

    def __init__(self):
        self.parts, self.spans, self.n = [], [], 0

    def add(self, text, kind=None):
        b = text.encode("utf-8")
        if kind:
            self.spans.append([self.n, self.n + len(b), kind])
        self.parts.append(text)
        self.n += len(b)

    def line(self, *pieces):
        for p in pieces:
            if isinstance(p, tuple):
                self.add(*p)
            else:
                self.add(p)
        self.add("\n")

    def text(self):
        return "".join(self.parts)


class Person:
    def __init__(self, r):
        self.given = r.choice(GIVEN)
        self.family = r.choice(FAMILY)
        self.middle = r.choice(GIVEN) if r.random() < 0.4 else ""
        self.female = r.random() < 0.5

    def pn(self):
        return "^".join(x for x in [self.family.upper(), self.given.upper(), self.middle.upper()] if x) if self.middle \
            else f"{self.family.upper()}^{self.given.upper()}"

    def forms(self, r):
        """A way to write the name; returns a list of (text, kind) pieces."""
        g, f, m = self.given, self.family, self.middle
        k = r.randrange(8)
        if k == 0:
            return [(f"{g} {f}", "NAME")]
        if k == 1:
            return [(f"{f.upper()}, {g.upper()}", "NAME")]
        if k == 2:
            return [(f"{f}, {g}", "NAME")]
        if k == 3 and m:
            return [(f"{g} {m[0]}. {f}", "NAME")]
        if k == 4:
            return [(f"{g[0]}. {f}", "NAME")]
        if k == 5:
            return [(f"{f.upper()}^{g.upper()}", "NAME")]
        if k == 6 and m:
            return [(f"{g} {m} {f}", "NAME")]
        return [(f"{g} {f}", "NAME")]


def date_str(r, y, mo, d):
    k = r.randrange(11)
    mn = MONTHS[mo - 1]
    sfx = "th" if 11 <= d <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return [f"{mo:02d}/{d:02d}/{y}", f"{mo}/{d}/{y % 100:02d}", f"{d:02d}/{mo:02d}/{y}", f"{y}-{mo:02d}-{d:02d}",
            f"{d:02d}-{mn[:3]}-{y}", f"{d} {mn} {y}", f"{mn} {d}, {y}", f"{d}{sfx} {mn} {y}", f"{y}{mo:02d}{d:02d}",
            f"{d:02d}.{mo:02d}.{y}", f"{mn[:3]} {d}, {y}"][k]


def rand_date(r, y0=2008, y1=2024):
    return r.randint(y0, y1), r.randint(1, 12), r.randint(1, 28)


def mrn(r):
    k = r.randrange(6)
    n = r.randint(10 ** 6, 10 ** 8 - 1)
    return [f"{n:08d}", f"MRN-{n % 1000000:06d}", f"H{n % 10000000:07d}",
            f"{r.randint(400, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}", f"RX{n % 10000000:07d}",
            f"{r.randint(10, 99)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}"][k]


def accession(r):
    k = r.randrange(5)
    n = r.randint(10 ** 5, 10 ** 7 - 1)
    y = r.randint(2010, 2024)
    return [f"A{n:08d}", f"RAD-{y}-{n % 1000000:06d}", f"ACC{n:08d}", f"{y}CMR{n % 100000:05d}", f"E{n:07d}"][k]


def phone(r):
    k = r.randrange(7)
    a, b, c = r.randint(201, 989), r.randint(200, 999), r.randint(1000, 9999)
    return [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}",
            f"020 {r.randint(7000, 8999)} {r.randint(1000, 9999)}", f"+44 20 {r.randint(7000, 8999)} {c}",
            f"07{r.randint(700, 999)} {r.randint(100000, 999999)}"][k]


def email(r, p):
    dom = r.choice(["hospital.org", "nhs.net", "med.stanford.edu", "gmail.com", "heartclinic.co.uk", "uhn.ca"])
    k = r.randrange(3)
    user = [f"{p.given.lower()}.{p.family.lower()}", f"{p.given[0].lower()}{p.family.lower()}{r.randint(1, 99)}",
            f"{p.family.lower()}.{p.given[0].lower()}"][k].replace("'", "")
    return f"{user}@{dom}"


def address(r):
    if r.random() < 0.5:
        city, st = r.choice(CITIES_US)
        s = f"{r.randint(1, 9999)} {r.choice(STREETS)} {r.choice(SUFFIX_US)}"
        if r.random() < 0.3:
            s += f", Apt {r.randint(1, 40)}{r.choice(['', 'B', 'C'])}"
        return f"{s}, {city}, {st} {r.randint(10000, 99999)}"
    city, pc = r.choice(CITIES_UK)
    s = f"{r.randint(1, 250)} {r.choice(STREETS)} {r.choice(SUFFIX_UK)}"
    if r.random() < 0.3:
        s = f"Flat {r.randint(1, 20)}, " + s
    return f"{s}, {city} {pc} {r.randint(1, 9)}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}"


def title(r, p):
    return r.choice(["Mrs", "Ms", "Miss"]) if p.female else "Mr"


def plant(r, body_lines):
    """One report: header, body with planted sentences, footer."""
    pt, ref, rep, rep2, other = Person(r), Person(r), Person(r), Person(r), Person(r)
    the_mrn, the_acc = mrn(r), accession(r)
    dob = (r.randint(1930, 2005), r.randint(1, 12), r.randint(1, 28))
    exam = rand_date(r, 2015, 2024)
    b = Builder()
    # Header block.
    style = r.randrange(3)
    if style == 0:
        b.line("Patient: ", *pt.forms(r), "    MRN: ", (the_mrn, "MRN"), "    DOB: ", (date_str(r, *dob), "DATE"))
        b.line("Accession #: ", (the_acc, "ACCESSION"), "    Exam date: ", (date_str(r, *exam), "DATE"))
    elif style == 1:
        b.line("PATIENT NAME: ", *pt.forms(r))
        b.line("Hospital number: ", (the_mrn, "MRN"), "  Date of birth: ", (date_str(r, *dob), "DATE"),
               f"  Sex: {'F' if pt.female else 'M'}")
        b.line("Accession number ", (the_acc, "ACCESSION"), " | Study date ", (date_str(r, *exam), "DATE"))
    else:
        b.line("Name: ", *pt.forms(r), "; ID: ", (the_mrn, "MRN"), "; Acc: ", (the_acc, "ACCESSION"))
        b.line("DOB: ", (date_str(r, *dob), "DATE"), "; scanned ", (date_str(r, *exam), "DATE"))
    if r.random() < 0.7:
        b.line(r.choice(["Referring physician: Dr. ", "Referred by: Dr ", "Requesting clinician: Dr "]),
               (f"{ref.given} {ref.family}" if r.random() < 0.6 else ref.family, "NAME"))
    if r.random() < 0.3:
        b.line("Address: ", (address(r), "ADDRESS"))
    if r.random() < 0.3:
        b.line("Contact number: ", (phone(r), "PHONE"))
    b.add("\n")
    # Body: the clean report, with planted sentences at realistic places.
    clean = []
    for i, ln in enumerate(body_lines):
        b.line(ln)
        clean.append(ln)
        if i == 0 and r.random() < 0.6:
            age = 2024 - dob[0]
            b.line(f"{title(r, pt)} ", (pt.family, "NAME"), f" is a {age}-year-old {'woman' if pt.female else 'man'} "
                   f"referred for assessment of LV function.")
        if i == 1 and r.random() < 0.5:
            b.line("Compared with the previous CMR of ", (date_str(r, *rand_date(r)), "DATE"), ".")
        if i == len(body_lines) // 2 and r.random() < 0.6 or i == len(body_lines) // 3 and r.random() < 0.4:
            d = r.choice(DISTRACTORS)
            b.line(d)
            clean.append(d)
    if r.random() < 0.6:
        how = r.randrange(3)
        if how == 0:
            b.line("These findings were discussed with Dr ", (other.family, "NAME"), " on ",
                   (date_str(r, *exam), "DATE"), " (bleep ", (str(r.randint(1000, 9999)), "PHONE"), ").")
        elif how == 1:
            b.line("Results phoned to ", (f"{other.given} {other.family}", "NAME"), " at ", (phone(r), "PHONE"), ".")
        else:
            b.line("Discussed with the referring team (Dr. ", (f"{other.given[0]}. {other.family}", "NAME"),
                   ") on ", (date_str(r, *exam), "DATE"), ".")
    b.add("\n")
    # Footer.
    cred = r.choice(CREDS)
    k = r.randrange(4)
    if k == 0:
        b.line("Reported by: Dr ", (f"{rep.given} {rep.family}", "NAME"), f", {cred}")
    elif k == 1:
        b.line("Electronically signed by: ", (f"{rep.given} {rep.family}", "NAME"), f", {cred} on ",
               (date_str(r, *exam), "DATE"), f" {r.randint(7, 19):02d}:{r.randint(0, 59):02d}")
    elif k == 2:
        b.line("Reporting radiologist: ", (f"{rep.family.upper()}, {rep.given.upper()}", "NAME"))
    else:
        b.line(("" if r.random() < 0.5 else "Dr. "), (f"{rep.given} {rep.family}", "NAME"), f", {cred}")
    if r.random() < 0.4:
        b.line("Dictated by: ", (f"{rep2.given} {rep2.family}", "NAME"), "; transcribed ",
               (date_str(r, *exam), "DATE"))
    if r.random() < 0.35:
        b.line("cc: Dr ", (f"{ref.given[0]}. {ref.family}", "NAME"), ", ", (address(r), "ADDRESS"))
    if r.random() < 0.4:
        b.line("Queries: ", (email(r, rep), "EMAIL"), " or ", (phone(r), "PHONE"))
    if r.random() < 0.15:
        b.line("Patient address on file: ", (address(r), "ADDRESS"))
    known = {"names": [pt.pn(), f"{ref.family.upper()}^{ref.given.upper()}"], "mrns": [the_mrn],
             "accessions": [the_acc]}
    return b.text().rstrip("\n"), b.spans, known, "\n".join(clean)


def date_holdout(r, y, mo, d, with_year=True):
    mn = MONTHS[mo - 1]
    sfx = "th" if 11 <= d <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    if not with_year:
        return r.choice([f"{d}{sfx} of {mn}", f"{mn} {d}{sfx}", f"{d} {mn[:3]}"])
    return r.choice([f"{d:02d}{mn[:3].upper()}{y}", f"{y}/{mo:02d}/{d:02d}", f"{d}.{mo}.{y % 100:02d}",
                     f"{mn[:3]}-{d:02d}-{y}", f"{mn} {d}{sfx}, {y}", f"{d}-{mo}-{y}", f"{mn.upper()} {d}, {y}",
                     f"{d:02d} {mn[:3].upper()} {y}"])


def phone_holdout(r):
    a, b, c = r.randint(201, 989), r.randint(200, 999), r.randint(1000, 9999)
    return r.choice([f"(020) {r.randint(7000, 8999)}-{c}", f"0113 {b} {c}", f"{a} {b} {c}", f"+61 2 {r.randint(8000, 9999)} {c}",
                     f"1-800-{b}-{c}", f"({a}){b}-{c}"])


def address_holdout(r):
    return r.choice([
        f"Apt {r.randint(1, 30)}, {r.randint(1, 999)} {r.choice(STREETS)} St., {r.choice(CITIES_US)[0]}",
        f"{r.randint(1, 99)} {r.choice(STREETS)} {r.choice(['Road', 'Lane', 'Close'])}, {r.choice(CITIES_UK)[0]}",
        f"PO Box {r.randint(100, 9999)}, {r.choice(CITIES_US)[0]}, {r.choice(CITIES_US)[1]} {r.randint(10000, 99999)}",
        f"{r.randint(100, 9999)} North {r.choice(STREETS)} Avenue, Suite {r.randint(100, 900)}",
    ])


def plant_holdout(r, body_lines):
    """The held-out templates: other positions and formats than plant()."""
    pt, ref, rep, other, kin = Person(r), Person(r), Person(r), Person(r), Person(r)
    the_mrn = r.choice([f"{r.randint(100000, 999999)}", f"{r.randint(1000000000, 9999999999)}",
                        f"MR{r.randint(100000, 999999)}", f"{r.randint(100, 999)}-{r.randint(100, 999)}-{r.randint(100, 999)}"])
    the_acc = r.choice([f"{r.randint(10000000, 99999999)}", f"ORD-{r.randint(10000, 99999)}",
                        f"CMR{r.randint(2010, 2024)}{r.randint(1000, 9999)}", f"X{r.randint(100000, 999999)}"])
    dob = (r.randint(1930, 2005), r.randint(1, 12), r.randint(1, 28))
    exam = rand_date(r, 2015, 2024)
    b = Builder()
    k = r.randrange(3)
    if k == 0:
        b.line("Pt: ", (f"{pt.family.upper()} {pt.given}", "NAME"), "   Unit No: ", (the_mrn, "MRN"))
        b.line("D.O.B. ", (date_holdout(r, *dob), "DATE"), "   Order #", (the_acc, "ACCESSION"))
    elif k == 1:
        b.line("Patient Name: ", (title(r, pt) + ". ", None), (f"{pt.given} {pt.family}", "NAME"))
        b.line("Medical Record Number ", (the_mrn, "MRN"), ", Exam No. ", (the_acc, "ACCESSION"))
        b.line("Date of examination: ", (date_holdout(r, *exam), "DATE"))
    else:
        b.line((f"{pt.family}, {pt.given}", "NAME"), " (", (the_mrn, "MRN"), ") born ", (date_holdout(r, *dob), "DATE"))
        b.line("Accession no. ", (the_acc, "ACCESSION"))
    b.add("\n")
    clean = []
    for i, ln in enumerate(body_lines):
        b.line(ln)
        clean.append(ln)
        if i == 0 and r.random() < 0.5:
            b.line("History obtained from the patient and ", r.choice(["his wife ", "her husband ", "her daughter ", "his son "]),
                   (f"{kin.given} {kin.family}", "NAME"), ".")
        if i == 1 and r.random() < 0.5:
            b.line("Prior imaging: echo on the ", (date_holdout(r, *rand_date(r), with_year=False), "DATE"),
                   " and CMR on ", (date_holdout(r, *rand_date(r)), "DATE"), ".")
        if i == len(body_lines) // 2 and r.random() < 0.5:
            d = r.choice(DISTRACTORS)
            b.line(d)
            clean.append(d)
    if r.random() < 0.6:
        b.line("Case reviewed at the MDT with Prof. ", (other.family, "NAME"), "; urgent result communicated by telephone to ",
               (f"{ref.given} {ref.family}", "NAME"), " on ", (phone_holdout(r), "PHONE"), ".")
    b.add("\n")
    b.line(r.choice(["Reported by ", "Signed: ", "Consultant Cardiologist: "]), r.choice(["", "Dr "]),
           (f"{rep.given} {rep.family}", "NAME"))
    if r.random() < 0.5:
        b.line("Letter to: Dr ", (f"{ref.family}", "NAME"), ", ", (address_holdout(r), "ADDRESS"))
    if r.random() < 0.5:
        b.line("Enquiries: ", (email(r, rep).upper(), "EMAIL"), ", tel. ", (phone_holdout(r), "PHONE"))
    known = {"names": [pt.pn(), f"{ref.family.upper()}^{ref.given.upper()}"], "mrns": [the_mrn],
             "accessions": [the_acc]}
    spans = []
    for a, e, kind in b.spans:
        spans.append([a, e, kind])
    return b.text().rstrip("\n"), spans, known, "\n".join(clean)


def mtsamples_lines(path):
    out = []
    for line in open(path, encoding="utf-8"):
        t = json.loads(line)["transcription"]
        t = re.sub(r"([.:]) ?,", r"\1\n", t)
        lines = [x.strip(" ,") for x in t.split("\n")]
        keep = [x for x in lines if x and not UNSAFE.search(x)]
        if len(keep) >= 4:
            out.append(keep[:20])
    return out


def main():
    args = sys.argv[1:]
    holdout = args and args[0] == "--holdout"
    if holdout:
        args = args[1:]
    phantom, mtdir, out, seed = args[0], args[1], args[2], int(args[3])
    r = random.Random(seed)
    bases = []
    for line in open(phantom, encoding="utf-8"):
        t = json.loads(line)["text"]
        bases.append(("phantom", [x for x in t.split("\n") if x.strip()]))
    for f in ["mtsamples_cardiac.jsonl", "mtsamples_mri_radiology.jsonl"]:
        for ls in mtsamples_lines(f"{mtdir}/{f}"):
            bases.append(("mtsamples", ls))
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as w:
        for i, (src, lines) in enumerate(bases):
            text, spans, known, clean = (plant_holdout if holdout else plant)(r, lines)
            rec = {"id": i, "source": src, "text": text, "spans": spans, "known": known, "clean": clean}
            w.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
