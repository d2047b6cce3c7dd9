package text

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

var monthIndex = map[string]time.Month{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
	"jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
	"oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var (
	reShISO   = regexp.MustCompile(`^(\d{4})([\-/.])(\d{1,2})([\-/.])(\d{1,2})(.*)$`)
	reShDA    = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	reShNum   = regexp.MustCompile(`^(\d{1,2})([\-/.])(\d{1,2})([\-/.])(\d{2}|\d{4})$`)
	reShMY    = regexp.MustCompile(`^(\d{1,2})/(\d{4})$`)
	reShDMonY = regexp.MustCompile(`^(\d{1,2})(st|nd|rd|th)?(\s+of)?([\s\-]+)([A-Za-z]+)(\.?,?)([\s\-]+)(\d{2}|\d{4})$`)
	reShMonDY = regexp.MustCompile(`^([A-Za-z]+)(\.?\s+)(\d{1,2})(st|nd|rd|th)?(,?\s+(\d{4}))?$`)
	reShDMon  = regexp.MustCompile(`^(\d{1,2})(st|nd|rd|th)?(\s+of)?(\s+)([A-Za-z]+)(\.?)$`)
	reShMonY  = regexp.MustCompile(`^([A-Za-z]+)(\.?,?(?:\s+of)?\s+)(\d{4})$`)
)

// shiftDate reads a date as FindPHI found it, adds days and writes it back
// in the same layout. It fails on what it cannot read.
func shiftDate(s string, days int, dayFirst bool) (string, bool) {
	pad := func(v, width int) string { return fmt.Sprintf("%0*d", width, v) }
	valid := func(y int, m time.Month, d int) (time.Time, bool) {
		t := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
		return t, t.Year() == y && t.Month() == m && t.Day() == d
	}
	if m := reShISO.FindStringSubmatch(s); m != nil {
		t, ok := valid(atoi(m[1]), time.Month(atoi(m[3])), atoi(m[5]))
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		return pad(t.Year(), 4) + m[2] + pad(int(t.Month()), len(m[3])) + m[4] + pad(t.Day(), len(m[5])) + m[6], true
	}
	if m := reShDA.FindStringSubmatch(s); m != nil {
		t, ok := valid(atoi(m[1]), time.Month(atoi(m[2])), atoi(m[3]))
		if !ok {
			return "", false
		}
		return t.AddDate(0, 0, days).Format("20060102"), true
	}
	if m := reShNum.FindStringSubmatch(s); m != nil {
		a, b, y := atoi(m[1]), atoi(m[3]), atoi(m[5])
		if len(m[5]) == 2 {
			y += 1900
			if y < 1950 {
				y += 100
			}
		}
		first := dayFirst && b <= 12 || a > 12
		d, mo := b, a
		if first {
			d, mo = a, b
		}
		t, ok := valid(y, time.Month(mo), d)
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		ys := pad(t.Year(), 4)
		if len(m[5]) == 2 {
			ys = pad(t.Year()%100, 2)
		}
		d2, m2 := pad(int(t.Month()), len(m[1])), pad(t.Day(), len(m[3]))
		if first {
			d2, m2 = pad(t.Day(), len(m[1])), pad(int(t.Month()), len(m[3]))
		}
		return d2 + m[2] + m2 + m[4] + ys, true
	}
	if m := reShMY.FindStringSubmatch(s); m != nil {
		t, ok := valid(atoi(m[2]), time.Month(atoi(m[1])), 15)
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		return pad(int(t.Month()), len(m[1])) + "/" + pad(t.Year(), 4), true
	}
	if m := reShDMonY.FindStringSubmatch(s); m != nil {
		mo, ok := monthIndex[strings.ToLower(m[5])]
		if !ok {
			return "", false
		}
		y := atoi(m[8])
		if len(m[8]) == 2 {
			y += 2000
			if y > time.Now().Year()+1 {
				y -= 100
			}
		}
		t, ok := valid(y, mo, atoi(m[1]))
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		ys := fmt.Sprint(t.Year())
		if len(m[8]) == 2 {
			ys = pad(t.Year()%100, 2)
		}
		return pad(t.Day(), len(m[1])) + ordinal(m[2], t.Day()) + m[3] + m[4] + monthLike(m[5], t.Month()) + m[6] + m[7] + ys, true
	}
	if m := reShMonDY.FindStringSubmatch(s); m != nil {
		mo, ok := monthIndex[strings.ToLower(m[1])]
		if !ok {
			return "", false
		}
		y := 2001 // no year given: any non-leap year
		if m[6] != "" {
			y = atoi(m[6])
		}
		t, ok := valid(y, mo, atoi(m[3]))
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		out := monthLike(m[1], t.Month()) + m[2] + fmt.Sprint(t.Day()) + ordinal(m[4], t.Day())
		if m[6] != "" {
			out += strings.TrimSuffix(m[5], m[6]) + fmt.Sprint(t.Year())
		}
		return out, true
	}
	if m := reShDMon.FindStringSubmatch(s); m != nil {
		mo, ok := monthIndex[strings.ToLower(m[5])]
		if !ok {
			return "", false
		}
		t, ok := valid(2001, mo, atoi(m[1]))
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		return fmt.Sprint(t.Day()) + ordinal(m[2], t.Day()) + m[3] + m[4] + monthLike(m[5], t.Month()) + m[6], true
	}
	if m := reShMonY.FindStringSubmatch(s); m != nil {
		mo, ok := monthIndex[strings.ToLower(m[1])]
		if !ok {
			return "", false
		}
		t, ok := valid(atoi(m[3]), mo, 15)
		if !ok {
			return "", false
		}
		t = t.AddDate(0, 0, days)
		return monthLike(m[1], t.Month()) + m[2] + fmt.Sprint(t.Year()), true
	}
	return "", false
}

// monthLike writes month m the way like was written: full or abbreviated,
// capitalised or upper case.
func monthLike(like string, m time.Month) string {
	name := m.String()
	full := false
	for mo := time.January; mo <= time.December; mo++ {
		full = full || strings.EqualFold(like, mo.String())
	}
	if !full {
		name = name[:3]
	}
	if like == strings.ToUpper(like) {
		return strings.ToUpper(name)
	}
	return name
}

// ordinal gives day the suffix a date was written with, if any.
func ordinal(had string, day int) string {
	if had == "" {
		return ""
	}
	switch {
	case day%100 >= 11 && day%100 <= 13:
		return "th"
	case day%10 == 1:
		return "st"
	case day%10 == 2:
		return "nd"
	case day%10 == 3:
		return "rd"
	}
	return "th"
}
