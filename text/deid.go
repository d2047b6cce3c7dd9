package text

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PHIKind is the type of an identifier found in free text; the
// de-identified text carries it as a placeholder ("[NAME]", "[DATE]", …).
type PHIKind string

// The identifier types Deidentify finds.
const (
	PHIName      PHIKind = "NAME"      // a person: patient, relative, physician, technologist
	PHIDate      PHIKind = "DATE"      // a date more precise than a year
	PHIMRN       PHIKind = "MRN"       // medical record / hospital / NHS number, DICOM PatientID
	PHIAccession PHIKind = "ACCESSION" // accession / exam / order number
	PHIPhone     PHIKind = "PHONE"     // telephone, fax, pager
	PHIEmail     PHIKind = "EMAIL"     // e-mail address
	PHIAddress   PHIKind = "ADDRESS"   // street address, postcode, ZIP
	PHIID        PHIKind = "ID"        // another identifier: an unlabelled long number, a known institution
)

// PHIKinds lists the kinds in a fixed order.
func PHIKinds() []PHIKind {
	return []PHIKind{PHIName, PHIDate, PHIMRN, PHIAccession, PHIPhone, PHIEmail, PHIAddress, PHIID}
}

// Placeholder is what replaces an identifier of kind k: "[NAME]", "[DATE]", ….
func (k PHIKind) Placeholder() string { return "[" + string(k) + "]" }

// DateMode says what happens to dates.
type DateMode string

const (
	// DatesRemove replaces every date by [DATE] (the default).
	DatesRemove DateMode = "remove"
	// DatesShift moves every date it can read by DeidOptions.ShiftDays
	// (a per-patient offset, see ShiftDays) and writes it back in its own
	// format; a date it cannot read becomes [DATE].
	DatesShift DateMode = "shift"
)

// ParseDateMode checks a date mode name ("" means DatesRemove).
func ParseDateMode(s string) (DateMode, error) {
	switch m := DateMode(s); m {
	case "":
		return DatesRemove, nil
	case DatesRemove, DatesShift:
		return m, nil
	}
	return "", fmt.Errorf("text: date mode %q: want %s or %s", s, DatesRemove, DatesShift)
}

// Known holds the identifiers a caller already knows belong to a report's
// study (ingest takes them from the DICOM headers). They are removed
// wherever they occur, in any case, on top of what the patterns find.
type Known struct {
	// Names are person names: DICOM PN values ("SMITH^JANE^A^DR") or
	// free text ("Jane Smith", "Smith, Jane"). Each component of two
	// letters or more is removed wherever it is written capitalised, and
	// runs of components and initials become one [NAME].
	Names []string
	// MRNs are patient identifiers (PatientID, OtherPatientIDs).
	MRNs []string
	// Accessions are accession numbers (and other study identifiers).
	Accessions []string
	// Other are further strings to remove as [ID] (e.g. InstitutionName).
	Other []string
}

// DeidOptions configures Deidentify. The zero value removes dates.
type DeidOptions struct {
	Dates DateMode
	// ShiftDays is added to every date in DatesShift mode (ShiftDays
	// derives a per-patient value from a secret salt).
	ShiftDays int
	// DayFirst reads an ambiguous numeric date such as 03/04/2021 as
	// day/month (3 April) rather than month/day; it only matters when
	// shifting.
	DayFirst bool
}

// PHISpan is an identifier found in a text: bytes [Start, End) of the input.
type PHISpan struct {
	Start int     `json:"start"`
	End   int     `json:"end"`
	Kind  PHIKind `json:"kind"`
}

// ShiftDays derives a patient's date offset from a secret key: between
// −maxDays and −1 days (dates move into the past), the same for every
// report of the patient, unpredictable without the key. maxDays ≤ 0 means
// 365.
func ShiftDays(key []byte, patient string, maxDays int) int {
	if maxDays <= 0 {
		maxDays = 365
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("date-shift\x00"))
	m.Write([]byte(strings.TrimSpace(patient)))
	h := binary.BigEndian.Uint64(m.Sum(nil))
	return -1 - int(h%uint64(maxDays))
}

// Deidentify replaces the identifiers in s by typed placeholders and
// returns the new text and the spans it replaced (in s's byte offsets,
// sorted). Clinical numbers — "LVEF 55 %", "2.5 × 3.1 cm", "120/80 mmHg",
// "1.5T", years on their own — are kept. Known identifiers (may be nil) are
// removed wherever they occur.
func Deidentify(s string, known *Known, o DeidOptions) (string, []PHISpan) {
	spans := FindPHI(s, known)
	if len(spans) == 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	at := 0
	for _, sp := range spans {
		b.WriteString(s[at:sp.Start])
		repl := sp.Kind.Placeholder()
		if sp.Kind == PHIDate && o.Dates == DatesShift {
			if d, ok := shiftDate(s[sp.Start:sp.End], o.ShiftDays, o.DayFirst); ok {
				repl = d
			}
		}
		b.WriteString(repl)
		at = sp.End
	}
	b.WriteString(s[at:])
	return b.String(), spans
}

// candidate is a possible identifier; prio breaks overlaps (higher wins,
// then longer).
type candidate struct {
	PHISpan
	prio int
}

// FindPHI returns the identifiers in s, sorted and not overlapping.
func FindPHI(s string, known *Known) []PHISpan {
	var cs []candidate
	add := func(start, end int, k PHIKind, prio int) {
		// Trim spaces and trailing punctuation that is not part of it.
		for start < end && isSpaceByte(s[start]) {
			start++
		}
		for end > start && strings.ContainsRune(" \t\n,;:", rune(s[end-1])) {
			end--
		}
		if end > start {
			cs = append(cs, candidate{PHISpan{start, end, k}, prio})
		}
	}
	for _, m := range reEmail.FindAllStringIndex(s, -1) {
		add(m[0], m[1], PHIEmail, 90)
	}
	if known != nil {
		findKnown(s, known, add)
	}
	findAddresses(s, add)
	findPhones(s, add)
	findDates(s, add)
	findCuedIDs(s, add)
	findNames(s, add)
	for _, m := range reLongID.FindAllStringSubmatchIndex(s, -1) {
		if boundary(s, m[2], m[3]) && !unitFollows(s, m[3]) {
			add(m[2], m[3], PHIID, 10)
		}
	}
	return resolve(s, cs)
}

// resolve turns candidates into disjoint spans. Overlapping candidates
// become one span covering all of them (nothing any detector found is
// left in the text), typed as the longest of them, then the one of highest
// priority: a known surname inside "12 Park Gardens" is part of an address,
// a known given name "June" inside "05-June-2021" part of a date. Adjacent
// names ("Jane" "A." "Smith") are then joined.
func resolve(s string, cs []candidate) []PHISpan {
	slices.SortFunc(cs, func(a, b candidate) int { return a.Start - b.Start })
	var out []PHISpan
	for i := 0; i < len(cs); {
		best, end := cs[i], cs[i].End
		j := i + 1
		for ; j < len(cs) && cs[j].Start < end; j++ {
			c := cs[j]
			end = max(end, c.End)
			if l, lb := c.End-c.Start, best.End-best.Start; l > lb || l == lb && c.prio > best.prio {
				best = c
			}
		}
		sp := PHISpan{Start: cs[i].Start, End: end, Kind: best.Kind}
		if n := len(out); n > 0 && out[n-1].Kind == sp.Kind && mergeable(sp.Kind) && joinable(s[out[n-1].End:sp.Start]) {
			out[n-1].End = sp.End
		} else {
			out = append(out, sp)
		}
		i = j
	}
	return out
}

func mergeable(k PHIKind) bool { return k == PHIName || k == PHIAddress }

// joinable reports whether the text between two name spans only separates
// parts of one name.
func joinable(gap string) bool {
	if len(gap) > 3 {
		return false
	}
	for _, r := range gap {
		if !strings.ContainsRune(" ,^.-'", r) {
			return false
		}
	}
	return true
}

// boundary reports whether s[i:j] is not glued to letters or digits.
func boundary(s string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// unitFollows reports whether a measurement unit follows position i (so the
// number before it is clinical).
func unitFollows(s string, i int) bool {
	rest := strings.TrimLeft(s[i:], " ")
	return reUnit.MatchString(rest)
}

var reUnit = regexp.MustCompile(`^(?i:%|mm|cm|ml|l\b|g\b|kg|mg|mcg|µg|ug|mmol|mol|iu|units?\b|u/l|bpm|ms\b|msec|s\b|sec|min|hz|mhz|khz|t\b|tesla|cells|/mm|/µl|/ul|x10|×10|mmhg|kpa|cgy|gy|mci|mbq|ml/m|g/m|mm/|cm/|m/s|beats|copies|platelets|wbc)`)

// ---- known identifiers

func findKnown(s string, k *Known, add func(int, int, PHIKind, int)) {
	for _, id := range k.MRNs {
		findLiteral(s, id, func(i, j int) { add(i, j, PHIMRN, 85) })
	}
	for _, id := range k.Accessions {
		findLiteral(s, id, func(i, j int) { add(i, j, PHIAccession, 85) })
	}
	for _, id := range k.Other {
		findLiteral(s, id, func(i, j int) { add(i, j, PHIID, 84) })
	}
	var parts []string
	for _, n := range k.Names {
		for _, p := range nameParts(n) {
			if !slices.Contains(parts, p) {
				parts = append(parts, p)
			}
		}
	}
	for _, p := range parts {
		findName(s, p, func(i, j int) { add(i, j, PHIName, 80) })
	}
}

// nameParts splits a person name (DICOM PN or free text) into the
// components worth searching for: two letters or more, not a title or
// credential.
func nameParts(n string) []string {
	if i := strings.IndexByte(n, '='); i >= 0 { // PN ideographic/phonetic groups
		n = n[:i]
	}
	f := strings.FieldsFunc(n, func(r rune) bool { return r == '^' || r == ',' || unicode.IsSpace(r) })
	var out []string
	for _, p := range f {
		p = strings.Trim(p, ".")
		if utf8.RuneCountInString(p) < 2 || titles[strings.ToLower(p)] || credentials[strings.ToUpper(p)] {
			continue
		}
		out = append(out, p)
		// Hyphenated names also appear in halves.
		for _, h := range strings.Split(p, "-") {
			if utf8.RuneCountInString(h) >= 2 && h != p {
				out = append(out, h)
			}
		}
	}
	return out
}

// findLiteral finds id in s case-insensitively, bounded by non-alphanumerics;
// separators inside id (space, '-', '.', '/') may be any of those or
// missing.
func findLiteral(s, id string, fn func(i, j int)) {
	id = strings.TrimSpace(id)
	if len(id) < 3 {
		return
	}
	var pat strings.Builder
	pat.WriteString("(?i)")
	for i, r := range id {
		if strings.ContainsRune(" -./_", r) {
			pat.WriteString(`[\s\-./_]?`)
			continue
		}
		if i > 0 && !strings.ContainsRune(" -./_", rune(id[i-1])) && unicode.IsDigit(r) != unicode.IsDigit(rune(id[i-1])) {
			pat.WriteString(`[\s\-]?`) // "PHI-ACC-001" written "PHI ACC 001" or "ACC001"
		}
		pat.WriteString(regexp.QuoteMeta(string(r)))
	}
	re, err := regexp.Compile(pat.String())
	if err != nil {
		return
	}
	for _, m := range re.FindAllStringIndex(s, -1) {
		if boundary(s, m[0], m[1]) {
			fn(m[0], m[1])
		}
	}
}

// findName finds a name component written capitalised ("Smith", "SMITH",
// "McDonald" as written), case-insensitively otherwise, as a whole word.
func findName(s, part string, fn func(i, j int)) {
	re, err := regexp.Compile(`(?i)` + regexp.QuoteMeta(part))
	if err != nil {
		return
	}
	for _, m := range re.FindAllStringIndex(s, -1) {
		if !boundary(s, m[0], m[1]) {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[m[0]:])
		if !unicode.IsUpper(r) {
			continue // "wall", "may": a word, not the name
		}
		// Possessive "Smith's" keeps its "'s" outside the span.
		fn(m[0], m[1])
	}
}

// ---- e-mail, phone, address

var reEmail = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

var (
	// (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567,
	// +44 (0)20 7946 0958, 020 7946 0958, 07700 900123.
	rePhone = regexp.MustCompile(`(?:\+\d{1,3}[ \t.\-]?)?(?:\(0\)[ \t]?)?(?:\(\d{1,5}\)[ \t.\-]?|\d{1,5}[ \t.\-]?)(?:\d{1,5}[ \t.\-]){0,3}\d{3,6}(?:[ \t]?(?:x|ext\.?|extension)[ \t]?\d{1,5})?`)
	// A cue, then a number: "Tel: 4321", "bleep 2345", "pager #6123",
	// "ext. 4455".
	rePhoneCue = regexp.MustCompile(`(?i)\b(?:tel(?:ephone)?|phone|ph|fax|pager|page|bleep|mobile|cell|ext(?:ension)?|contact(?: number)?|call)\b\.?(?:[ \t]*(?:no\.?|number|#))?[ \t]*[:#]?[ \t]*(\+?[\d(][\d() \t.\-]{2,}\d(?:[ \t]?(?:x|ext\.?)[ \t]?\d{1,5})?)`)
)

func findPhones(s string, add func(int, int, PHIKind, int)) {
	for _, m := range rePhoneCue.FindAllStringSubmatchIndex(s, -1) {
		if digits(s[m[2]:m[3]]) >= 3 && boundary(s, m[2], m[3]) {
			add(m[2], m[3], PHIPhone, 70)
		}
	}
	for _, m := range rePhone.FindAllStringIndex(s, -1) {
		t := s[m[0]:m[1]]
		n := digits(t)
		if n < 10 || n > 15 || !boundary(s, m[0], m[1]) {
			continue
		}
		// A number with separators only between groups: not 1.234.567,
		// nor a date such as 2021-03-04.
		if reISODate.MatchString(t) || strings.Count(t, ".") == 1 && !strings.ContainsAny(t, " -()") {
			continue
		}
		add(m[0], m[1], PHIPhone, 65)
	}
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

var (
	streetSuffix = `(?:Street|St|Road|Rd|Avenue|Ave|Av|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Close|Crescent|Cres|Terrace|Terr|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Grove|Gardens|Gdns|Row|Walk|Hill|Mews|Park|Trail|Trl|Loop|Plaza|Green|Rise|Vale|View|Wharf|Parade|Pde)`
	// "123 Main Street", "45B Oak Ave.", "Flat 3, 12 High Road", then
	// optional unit, town, state and ZIP or postcode.
	reStreet = regexp.MustCompile(`(?:(?:Flat|Apt\.?|Apartment|Unit|Suite|Ste\.?)[ \t]*#?\d+[A-Za-z]?,?[ \t]+)?\b\d{1,5}[A-Za-z]?(?:\s*-\s*\d{1,5})?,?[ \t]+(?:[A-Z][A-Za-z'\-]+\.?[ \t]+){1,3}` + streetSuffix +
		`\b\.?(?:,?[ \t]*(?:Apt\.?|Apartment|Unit|Suite|Ste\.?|Flat|#)[ \t]*#?\d+[A-Za-z]?)?` +
		`(?:,[ \t]*[A-Z][a-z][A-Za-z'\-]*(?:[ \t]+[A-Z][a-z][A-Za-z'\-]*){0,2})?` +
		`(?:,?\s*(?:[A-Z]{2}|[A-Z][a-z]+)\s+\d{5}(?:-\d{4})?|,?\s*` + postcode + `)?`)
	postcode = `[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}`
	// "Springfield, IL 62704" and UK postcodes on their own.
	reCityZip  = regexp.MustCompile(`\b[A-Z][A-Za-z]+(?:\s[A-Z][A-Za-z]+)?,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b`)
	rePostcode = regexp.MustCompile(`\b` + postcode + `\b`)
	rePOBox    = regexp.MustCompile(`(?i)\bP\.?\s?O\.?\s?Box\s+\d+`)
)

func findAddresses(s string, add func(int, int, PHIKind, int)) {
	for _, m := range reStreet.FindAllStringIndex(s, -1) {
		end := m[1]
		// "Dr" ends a street name only when no name follows: "12 Elm Dr,"
		// is an address, "… 2 Dr Smith" is not.
		if strings.HasSuffix(strings.TrimRight(s[m[0]:end], "."), " Dr") && !strings.HasPrefix(s[end:], ",") {
			if rest := strings.TrimLeft(s[end:], ". "); len(rest) > 0 && unicode.IsUpper(rune(rest[0])) {
				continue
			}
		}
		add(m[0], end, PHIAddress, 75)
	}
	for _, re := range []*regexp.Regexp{reCityZip, rePostcode, rePOBox} {
		for _, m := range re.FindAllStringIndex(s, -1) {
			// A lone postcode shape must have its space or full length
			// ("SW1A 1AA", "LS61AA"), not be a short code such as "V5 2".
			if re == rePostcode && !strings.ContainsRune(s[m[0]:m[1]], ' ') && m[1]-m[0] < 6 {
				continue
			}
			add(m[0], m[1], PHIAddress, 74)
		}
	}
}

// ---- dates

const monthNames = `(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|SEP(?:T(?:EMBER)?)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)`

var (
	reISODate = regexp.MustCompile(`^(?:19|20)\d\d[\-/.](?:0?[1-9]|1[0-2])[\-/.](?:0?[1-9]|[12]\d|3[01])`)
	reDates   = []*regexp.Regexp{
		// 2021-03-04, 2021/3/4, 2021.03.04 (+ time)
		regexp.MustCompile(`\b(?:19|20)\d\d[\-/.](?:0?[1-9]|1[0-2])[\-/.](?:0?[1-9]|[12]\d|3[01])(?:[T \t]\d{1,2}:\d\d(?::\d\d)?)?\b`),
		// 20210304 (DICOM DA)
		regexp.MustCompile(`\b(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b`),
		// 04/03/2021, 4/3/21, 04-03-2021, 04.03.2021
		regexp.MustCompile(`\b\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b`),
		regexp.MustCompile(`\b\d{1,2}[\-.]\d{1,2}[\-.](?:(?:19|20)\d\d|\d\d)\b`),
		// 03/2021 (month/year)
		regexp.MustCompile(`\b(?:0?[1-9]|1[0-2])/(?:19|20)\d\d\b`),
		// 4 March 2021, 4th of March, 2021, 04-Mar-2021, 4 Mar 21
		regexp.MustCompile(`\b\d{1,2}(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t\-]+` + monthNames + `\.?,?[ \t\-]+(?:\d{4}|\d{2})\b`),
		// March 4, 2021; Mar. 4th 2021; Mar-04-2021; March 4
		regexp.MustCompile(`\b` + monthNames + `\.?[ \t\-]+\d{1,2}(?:st|nd|rd|th)?\b(?:,?[ \t\-]+\d{4}\b)?`),
		// 04MAR2021, 4Mar21 (no separators)
		regexp.MustCompile(`\b\d{1,2}` + monthNames + `(?:\d{4}|\d{2})\b`),
		// 4 March, 4th of March (no year)
		regexp.MustCompile(`\b\d{1,2}(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t]+` + monthNames + `\b\.?`),
		// March 2021, March of 2021
		regexp.MustCompile(`\b` + monthNames + `\.?,?(?:[ \t]+of)?[ \t]+(?:19|20)\d\d\b`),
	}
	// A cue makes short forms dates: "DOB 1960", "date of birth: 1960".
	reDOB = regexp.MustCompile(`(?i)\b(?:DOB|D\.O\.B\.?|date of birth|born(?: on)?|birth ?date)\s*[:\-]?\s*((?:19|20)\d\d)\b`)
)

func findDates(s string, add func(int, int, PHIKind, int)) {
	for k, re := range reDates {
		for _, m := range re.FindAllStringIndex(s, -1) {
			t := s[m[0]:m[1]]
			if !plausibleDate(t, k) {
				continue
			}
			add(m[0], m[1], PHIDate, 60+len(reDates)-k)
		}
	}
	for _, m := range reDOB.FindAllStringSubmatchIndex(s, -1) {
		add(m[2], m[3], PHIDate, 59)
	}
}

// plausibleDate rejects number patterns that only look like dates: ratios
// ("120/80", "2/3"), fractions of scores, blood pressures.
func plausibleDate(t string, kind int) bool {
	switch kind {
	case 2: // d/d/yy(yy)
		p := strings.Split(t, "/")
		a, b := atoi(p[0]), atoi(p[1])
		if a == 0 || b == 0 || a > 31 || b > 31 || (a > 12 && b > 12) {
			return false
		}
	case 3: // d.d.yy(yy), d-d-yy(yy)
		p := strings.FieldsFunc(t, func(r rune) bool { return r == '-' || r == '.' })
		a, b := atoi(p[0]), atoi(p[1])
		if a == 0 || b == 0 || a > 31 || b > 31 || (a > 12 && b > 12) {
			return false
		}
		// "3-4-10" with a two-digit year reads as a range or a list as
		// often as a date; dots ("26.3.13") are a date.
		if len(p[2]) == 2 && strings.Contains(t, "-") {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
		if n > 1e6 {
			return -1
		}
	}
	return n
}

// ---- labelled identifiers

const idToken = `([A-Za-z]{0,6}[\-#]?\d[\dA-Za-z\-/.]*\d|[A-Za-z]{0,6}\d+)`

var (
	reMRNCue = regexp.MustCompile(`(?i)\b(?:MRN|MR#|MR[ \t]?no\.?|MR[ \t]?number|medical[ \t]+record(?:[ \t]+(?:number|no\.?|#))?|hospital[ \t]+(?:number|no\.?|#|id)|hosp\.?[ \t]?(?:no|#)\.?|patient[ \t]+(?:id|identifier|number|no\.?|#)|pt\.?[ \t]?(?:id|no\.?|#)|unit[ \t]+(?:number|no\.?)|NHS[ \t]+(?:number|no\.?)|CHI(?:[ \t]+number)?|chart[ \t]+(?:number|no\.?|#)|record[ \t]+(?:number|no\.?|#)|ID)\b\.?[ \t]*(?:is[ \t]+)?[:#=]?[ \t]*` + idToken)
	reAccCue = regexp.MustCompile(`(?i)\b(?:accession(?:[ \t]+(?:number|no\.?|#))?|acc(?:n|\.)?[ \t]?(?:no\.?|#|number)|acc(?:n|\.)?[ \t]*:|exam[ \t]+(?:number|no\.?|#|id)|study[ \t]+(?:number|no\.?|#|id)|order[ \t]+(?:number|no\.?|#)|requisition(?:[ \t]+(?:number|no\.?|#))?|episode[ \t]+(?:number|no\.?))\b\.?[ \t]*(?:is[ \t]+)?[:#=]?[ \t]*` + idToken)
	// A long number or letters+digits code on its own: 6+ digits, or a
	// prefix and 5+ digits ("A1234567", "RAD-2021-004512").
	reLongID = regexp.MustCompile(`(?:^|[^\w.,])((?:[A-Za-z]{1,5}[\-]?)?\d{5,}(?:[\-/]\d+)*|\d{6,}|[A-Za-z]{1,5}-\d{2,}-\d{3,}(?:-\d+)*)`)
	// NHS numbers: 3 3 4 digits.
	reNHS        = regexp.MustCompile(`\b\d{3}[ \t]\d{3}[ \t]\d{4}\b`)
	rePlusPrefix = regexp.MustCompile(`\+\d{1,3}\s?$`)
)

func findCuedIDs(s string, add func(int, int, PHIKind, int)) {
	for _, m := range reAccCue.FindAllStringSubmatchIndex(s, -1) {
		if digits(s[m[2]:m[3]]) >= 3 && boundary(s, m[2], m[3]) {
			add(m[2], m[3], PHIAccession, 72)
		}
	}
	for _, m := range reMRNCue.FindAllStringSubmatchIndex(s, -1) {
		if digits(s[m[2]:m[3]]) >= 3 && boundary(s, m[2], m[3]) {
			add(m[2], m[3], PHIMRN, 71)
		}
	}
	for _, m := range reNHS.FindAllStringIndex(s, -1) {
		if mrnCueBefore(s, m[0]) {
			add(m[0], m[1], PHIMRN, 73)
		}
	}
}

func mrnCueBefore(s string, i int) bool {
	if rePlusPrefix.MatchString(s[max(0, i-6):i]) {
		return false // "+1 970 714 3226": a telephone number
	}
	pre := strings.ToLower(s[max(0, i-24):i])
	for _, c := range []string{"nhs", "mrn", "hospital", "patient", "record", " id", "chi"} {
		if strings.Contains(pre, c) {
			return true
		}
	}
	return false
}

// ---- names

// titles precede a name; they stay in the text.
var titles = map[string]bool{"dr": true, "doctor": true, "mr": true, "mrs": true, "ms": true, "miss": true, "mx": true,
	"prof": true, "professor": true, "sister": true, "sr": true, "jr": true, "rev": true, "nurse": true, "mstr": true, "master": true}

// credentials follow a name; they stay in the text.
var credentials = map[string]bool{"MD": true, "M.D.": true, "DO": true, "PHD": true, "MBBS": true, "MBCHB": true, "FRCR": true,
	"FRCP": true, "FRCPC": true, "MRCP": true, "FACC": true, "FESC": true, "FSCMR": true, "FSCCT": true, "RN": true, "RT": true,
	"RDCS": true, "PA-C": true, "NP": true, "MBBCH": true, "BSC": true, "MSC": true, "DPHIL": true, "FRACP": true, "FAHA": true, "III": true, "II": true, "JR": true}

// notName lists capitalised words that follow name cues in reports but
// are not names (departments, roles, report words, common acronyms).
var notName = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the an this that these his her their our my your its he she they we it
		patient patients pt hospital clinic department dept service team unit centre center institute university
		cardiology radiology medicine surgery cardiac cardiothoracic imaging mri cmr ct echo ecg ekg lv rv la ra lvef rvef ef
		lge ssfp sax lax ch edv esv mr ms mi cad hcm dcm af chf copd icu ed er gp pcp na n/a none unknown not nil no yes
		team group committee board services
		referring referral report reported findings impression conclusion summary technique indication history clinical
		dictated signed verified approved attending consultant registrar resident fellow radiologist cardiologist physician
		doctor nurse technologist radiographer sonographer staff on at in of for and or with by to from date time today
		scan study exam examination images image series sequence protocol left right anterior inferior lateral septal apical
		basal mid normal mild moderate severe follow up emergency outpatient inpatient cc dear thank thanks please kind regards
		mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday
		anesthesia anaesthesia neurology oncology nephrology pulmonology haematology hematology pathology nursing pharmacy
		physiotherapy
		t1 t2 bssfp psir molli lgE aha acc esc scmr bsa bmi bp hr dob mrn nhs id tel fax email phone address`) {
		notName[strings.ToLower(w)] = true
	}
}

const nameTok = `(?:Mc|Mac|O'|D'|De|Van|Von|Le|La|Di|Da)?[A-Z][a-z'’]+(?:-[A-Za-z][a-z'’]+)?|[A-Z]{2,}(?:[-'][A-Z]{2,})?|[A-Z]\.?`

// reRoleName: a label naming a role, then a name: "Consultant
// Cardiologist: Jane Smith", "Signed: J. Smith", "Reporting fellow: …".
var reRoleName = regexp.MustCompile(`(?i:\b(?:[a-z]+[ \t]+){0,2}(?:physician|doctor|radiologist|cardiologist|consultant|clinician|surgeon|registrar|fellow|resident|attending|nurse|technologist|technician|radiographer|sonographer|author|signed|signature|reporter|reviewer|verifier|authoriser|authorizer|referrer|gp)[ \t]*:)[ \t]*(?:(?:Dr|Doctor|Prof|Mr|Mrs|Ms|Miss|DR|PROF)\.?[ \t]+)?((?:` + nameTok + `)(?:(?:[ \t^]+|,[ \t]*)(?:` + nameTok + `)){0,3})`)

var (
	reTitleName = regexp.MustCompile(`\b(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sister|Rev|DR|MR|MRS|MS|PROF)\b\.?[ \t]+((?:` + nameTok + `)(?:[ \t^]+(?:` + nameTok + `)){0,3})`)
	reCredName  = regexp.MustCompile(`((?:` + nameTok + `)(?:[ \t^]+(?:` + nameTok + `)){0,3})(,?)[ \t]+(?:M\.D\.|(?:MD|DO|PhD|MBBS|MBChB|MBBCh|FRCR|FRCP|FRCPC|FRACP|MRCP|FACC|FESC|FAHA|FSCMR|FSCCT|RN|RT|RT\(R\)|RDCS|PA-C|NP)\b)`)
	reCueName   = regexp.MustCompile(`(?i:\b(?:patient(?:'s)?\s+name|patient|pt\.?\s+name|pt|name|surname|forename|first\s+name|last\s+name|referring\s+(?:physician|doctor|clinician|consultant|cardiologist)|referred\s+by|referrer|requesting\s+(?:physician|doctor|clinician)|requested\s+by|ordering\s+(?:physician|provider|doctor)|ordered\s+by|reported\s+by|reporting\s+(?:physician|radiologist|cardiologist|doctor|consultant)|radiologist|cardiologist|consultant|attending(?:\s+physician)?|dictated\s+by|transcribed\s+by|typed\s+by|(?:electronically\s+)?signed(?:\s+off)?\s+by|verified\s+by|authori[sz]ed\s+by|approved\s+by|read\s+by|interpreted\s+by|reviewed\s+by|performed\s+by|scanned\s+by|supervised\s+by|technologist|radiographer|sonographer|operator|cc|copy\s+to|copies\s+to|discussed\s+with|d/w|results?\s+(?:given|phoned|communicated)\s+to|(?:phoned|telephoned|communicated|relayed|conveyed|faxed|sent|copied|given|addressed)(?:\s+by\s+(?:tele)?phone)?\s+to|seen\s+by|next\s+of\s+kin|nok|wife|husband|mother|father|daughter|son|gp|primary\s+care\s+physician|pcp))\b\.?[ \t]*:?[ \t]*(?:(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Prof|DR|MR|MRS|MS)\.?\s+)?((?:` + nameTok + `)(?:(?:[ \t^]+|,[ \t]*)(?:` + nameTok + `)){0,3})`)
)

func findNames(s string, add func(int, int, PHIKind, int)) {
	for _, m := range reTitleName.FindAllStringSubmatchIndex(s, -1) {
		// "MR" and "MS" are also mitral regurgitation and stenosis: upper
		// case titles count only before an upper case name.
		t := s[m[0]:m[2]]
		if (strings.HasPrefix(t, "MR") || strings.HasPrefix(t, "MS")) && !allUpper(s[m[2]:m[3]]) {
			continue
		}
		addNameRun(s, m[2], m[3], 1, add)
	}
	for _, m := range reCredName.FindAllStringSubmatchIndex(s, -1) {
		// "MRI/LOW EX NOT JNT RT W/O": capitals before an ambiguous
		// credential without a comma are not a name.
		if m[4] == m[5] && allUpper(s[m[2]:m[3]]) {
			continue
		}
		addNameRun(s, m[2], m[3], 2, add)
	}
	for _, m := range reRoleName.FindAllStringSubmatchIndex(s, -1) {
		addNameRun(s, m[2], m[3], 1, add)
	}
	for _, m := range reCueName.FindAllStringSubmatchIndex(s, -1) {
		// A cue without a colon ("seen by", "discussed with") needs two
		// name tokens: "seen by Cardiology" is not a name.
		need := 2
		if strings.Contains(s[m[0]:m[2]], ":") {
			need = 1
		}
		addNameRun(s, m[2], m[3], need, add)
	}
}

func allUpper(s string) bool {
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
	}
	return true
}

// addNameRun adds the name tokens of s[i:j], stopping at the first word
// that is not a name; it needs at least need tokens.
func addNameRun(s string, i, j, need int, add func(int, int, PHIKind, int)) {
	end, n := i, 0
	pos := i
	for pos < j {
		// Next token.
		for pos < j && strings.ContainsRune(" \t^,", rune(s[pos])) {
			pos++
		}
		st := pos
		for pos < j && !strings.ContainsRune(" \t^,", rune(s[pos])) {
			pos++
		}
		if st == pos {
			break
		}
		w := strings.Trim(s[st:pos], ".")
		lw := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s"))
		if notName[lw] || titles[lw] || credentials[strings.ToUpper(w)] {
			break
		}
		if pos < len(s) && s[pos] == ':' {
			break // "Accession:": the next label, not a name
		}
		// A comma ends the name unless it is "SURNAME, Given" (the first
		// token, upper case, then one more).
		if n > 0 && strings.Contains(s[end:st], ",") && !(n == 1 && allUpper(s[i:end])) {
			break
		}
		end = pos
		// "Smith's": the possessive stays outside.
		if strings.HasSuffix(s[st:end], "'s") || strings.HasSuffix(s[st:end], "’s") {
			end -= len("'s")
			if strings.HasSuffix(s[st:pos], "’s") {
				end = pos - len("’s")
			}
			n++
			break
		}
		n++
	}
	if n >= need && end > i {
		// A single initial is not a name for the weaker cues.
		t := strings.TrimRight(s[i:end], ".")
		if utf8.RuneCountInString(t) == 1 && need > 1 {
			return
		}
		// A full stop after a name (not after an initial) ends the sentence.
		if strings.HasSuffix(s[i:end], ".") {
			last := s[i : end-1]
			if k := strings.LastIndexAny(last, " \t^,"); k >= 0 {
				last = last[k+1:]
			}
			if utf8.RuneCountInString(last) > 1 {
				end--
			}
		}
		add(i, end, PHIName, 50)
	}
}
