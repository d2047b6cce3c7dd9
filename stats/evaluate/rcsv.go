package evaluate

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// FormatR formats x as R's write.csv does (15 significant digits, fixed or
// scientific notation by R's width rule with scipen = 0): 0.19031154324329,
// 1, 9.39848155756528e-06, 0.000337521383373622. NaN is written NA (R's
// missing value), infinities as Inf and -Inf.
func FormatR(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NA"
	case math.IsInf(x, 1):
		return "Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	case x == 0:
		return "0"
	}
	// Significant digits (≤ 15) and decimal exponent after rounding to 15.
	e := strconv.FormatFloat(math.Abs(x), 'e', 14, 64) // d.dddddddddddddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	kp, _ := strconv.Atoi(exp)
	digits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	nsig := len(digits)

	neg := 0
	if x < 0 {
		neg = 1
	}
	// Width in fixed notation: integer part plus rgt decimals.
	rgt := max(nsig-kp-1, 0)
	left := 1
	if kp > 0 {
		left = kp + 1
	}
	wF := neg + left
	if rgt > 0 {
		wF += rgt + 1
	}
	// Width in scientific notation: mantissa, "e", sign, 2–3 exponent digits.
	wE := neg + nsig + 4
	if nsig > 1 {
		wE++
	}
	if kp >= 100 || kp <= -100 {
		wE++
	}
	if wF <= wE {
		return strconv.FormatFloat(x, 'f', rgt, 64)
	}
	return strconv.FormatFloat(x, 'e', nsig-1, 64)
}

// rWriter writes a CSV the way R's write.csv(df) does: a quoted header
// whose first field is "" (the row-name column), then rows that start with
// the quoted row number; strings are quoted, numbers are not.
type rWriter struct {
	w   *bufio.Writer
	row int
}

func newRWriter(w io.Writer, columns ...string) *rWriter {
	rw := &rWriter{w: bufio.NewWriter(w)}
	rw.w.WriteString(`""`)
	for _, c := range columns {
		rw.w.WriteByte(',')
		rw.w.WriteString(quoteR(c))
	}
	rw.w.WriteByte('\n')
	return rw
}

// cell is one CSV field: a string (quoted) or a number.
type cell struct {
	s     string
	v     float64
	isNum bool
}

func str(s string) cell  { return cell{s: s} }
func num(v float64) cell { return cell{v: v, isNum: true} }
func integer(n int) cell { return num(float64(n)) }

func (rw *rWriter) write(cells ...cell) {
	rw.row++
	rw.w.WriteString(quoteR(strconv.Itoa(rw.row)))
	for _, c := range cells {
		rw.w.WriteByte(',')
		if c.isNum {
			rw.w.WriteString(FormatR(c.v))
		} else {
			rw.w.WriteString(quoteR(c.s))
		}
	}
	rw.w.WriteByte('\n')
}

func (rw *rWriter) flush() error { return rw.w.Flush() }

func quoteR(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
