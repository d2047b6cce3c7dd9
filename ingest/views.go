package ingest

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/cmrfm/cmrfm/cine"
)

// Decision is what view assignment decided for one series.
type Decision struct {
	Series *cine.Series
	// View is the assigned view, or "" when the series is not used.
	View cine.View
	// Rule says which rule decided: "seriesmap clinical #12",
	// "geometry: 12 parallel slices", "keyword: scout", "not cine", ….
	Rule string
	// Reason explains an exclusion or failure ("" when used).
	Reason string
	// Failed marks series that could not be assembled (as opposed to
	// series excluded by design).
	Failed bool
	// priority orders candidates of one view: lower wins.
	priority int
}

// nonCineKeywords exclude unmapped series by a word of their description.
var nonCineKeywords = map[string]string{
	"scout": "localizer", "localizer": "localizer", "localiser": "localizer", "loc": "localizer", "survey": "localizer",
	"aahscout": "localizer", "lge": "late enhancement", "psir": "late enhancement", "de": "late enhancement",
	"delayed": "late enhancement", "mag": "late enhancement", "t1": "mapping", "t2": "mapping", "t2star": "mapping",
	"map": "mapping", "mapping": "mapping", "molli": "mapping", "shmolli": "mapping", "ecv": "mapping",
	"flow": "flow", "pc": "flow", "phase": "flow", "velocity": "flow", "venc": "flow", "qflow": "flow",
	"tag": "tagging", "tagging": "tagging", "grid": "tagging", "perf": "perfusion", "perfusion": "perfusion",
	"haste": "anatomy", "tse": "anatomy", "stir": "anatomy", "dwi": "diffusion", "angio": "angiography", "mra": "angiography",
}

func keywordOf(desc string) (string, string) {
	words := strings.FieldsFunc(strings.ToLower(desc), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if k, ok := nonCineKeywords[w]; ok {
			return w, k
		}
	}
	return "", ""
}

// assignViews decides, for every series of one study, whether it is used and
// as which view; it returns the chosen series per view (several for a SAX
// stack acquired one slice per series) and every decision.
func assignViews(series []*cine.Series, m *SeriesMap) (map[cine.View][]*cine.Series, []*Decision) {
	var decisions []*Decision
	var pending []*Decision // cine series not decided by name
	for _, s := range series {
		d := &Decision{Series: s}
		decisions = append(decisions, d)
		switch {
		case s.Err != nil:
			d.Failed, d.Rule, d.Reason = true, "assembly", s.Err.Error()
		case !s.IsCine():
			d.Rule, d.Reason = "not cine", "one frame per slice (a localizer, LGE or other static series)"
		default:
			if r, ok := m.Lookup(s.SeriesDescription); ok {
				d.Rule = fmt.Sprintf("seriesmap %s #%d %q", r.Source, r.Priority+1, r.Description)
				switch {
				case r.View == ViewExclude:
					d.Reason = "excluded by the series map"
				case !r.View.Canonical():
					d.Reason = fmt.Sprintf("view %s is not used (the reference never loads it)", r.View)
				default:
					d.View, d.priority = r.View, r.Priority
				}
				continue
			}
			if w, k := keywordOf(s.SeriesDescription); w != "" {
				d.Rule, d.Reason = "keyword "+w, "not a cine view ("+k+")"
				continue
			}
			pending = append(pending, d)
		}
	}
	geometryViews(decisions, pending)
	return choose(decisions), decisions
}

const geometryPriority = 1 << 20 // after every map rule

// geometryViews assigns views to unmapped cine series from their planes:
// a stack of parallel slices is short axis; a single plane is short axis when
// parallel to the stack, long axis when it contains the stack's normal, and
// then 4CH, 2CH or 3CH by its rotation about the long axis.
func geometryViews(all, pending []*Decision) {
	for _, d := range pending {
		s := d.Series
		if len(s.Slices) >= 2 {
			d.View, d.priority = cine.ViewSAX, geometryPriority
			d.Rule = fmt.Sprintf("geometry: stack of %d parallel slices", len(s.Slices))
		}
	}
	// Without any stack, single-slice cines that are mutually parallel at
	// three or more positions are a SAX stack stored one slice per series.
	hasStack := false
	for _, d := range all {
		if d.View == cine.ViewSAX {
			hasStack = true
		}
	}
	if !hasStack {
		var single []*Decision
		for _, d := range pending {
			if d.View == "" && d.Series.HasOrientation && len(d.Series.Slices) == 1 {
				single = append(single, d)
			}
		}
		var best []*Decision
		for _, a := range single {
			var group []*Decision
			for _, b := range single {
				if parallel(a.Series, b.Series) && a.Series.Rows == b.Series.Rows && a.Series.Cols == b.Series.Cols {
					group = append(group, b)
				}
			}
			if distinctPositions(group) >= 3 && len(group) > len(best) {
				best = group
			}
		}
		for _, d := range best {
			d.View, d.priority = cine.ViewSAX, geometryPriority
			d.Rule = fmt.Sprintf("geometry: one of %d parallel single-slice series (a stack)", len(best))
		}
	}
	// The short-axis normal: from the best SAX candidate (mapped or stacked).
	var sax *cine.Series
	for _, d := range all {
		if d.View == cine.ViewSAX && d.Series.HasOrientation && (sax == nil || len(d.Series.Slices) > len(sax.Slices)) {
			sax = d.Series
		}
	}
	for _, d := range pending {
		if d.View != "" {
			continue
		}
		s := d.Series
		switch {
		case !s.HasOrientation:
			d.Rule, d.Reason = "geometry", "unmapped single-slice cine without ImageOrientationPatient"
			continue
		case sax == nil:
			d.Rule, d.Reason = "geometry", "unmapped single-slice cine, and no short-axis stack to orient it against"
			continue
		}
		v, psi, theta := classifyPlane(s.Normal, sax.Normal)
		switch {
		case v == cine.ViewSAX:
			d.View, d.priority = v, geometryPriority+1
			d.Rule = fmt.Sprintf("geometry: parallel to the SAX stack (%.0f°)", theta)
		case v != "":
			d.View, d.priority = v, geometryPriority+1
			d.Rule = fmt.Sprintf("geometry: long axis, %.0f° from the SAX normal, rotated %.0f° about it", theta, psi)
		default:
			d.Rule, d.Reason = "geometry", fmt.Sprintf("oblique plane, %.0f° from the SAX normal", theta)
		}
	}
}

// classifyPlane classifies a plane of normal n against the short-axis
// normal u. theta is the angle between the normals; for long-axis planes psi
// is the plane's rotation about the long axis, measured from the patient's
// superior direction towards the left (lateral) wall, in [0, 180): about 0°
// for a vertical long axis (2CH), 60–90° for a horizontal long axis (4CH),
// 110–150° for the LV outflow tract (3CH).
func classifyPlane(n, u [3]float64) (v cine.View, psi, theta float64) {
	if dot(u, [3]float64{1, -1, -1}) < 0 {
		u = scale(u, -1)
	}
	c := math.Abs(dot(n, u))
	theta = math.Acos(min(c, 1)) * 180 / math.Pi
	switch {
	case theta < 25:
		return cine.ViewSAX, 0, theta
	case theta < 65:
		return "", 0, theta
	}
	d := unit(cross(n, u))
	a := unit(sub([3]float64{0, 0, 1}, scale(u, u[2])))
	b := cross(u, a)
	if b[0] < 0 {
		b = scale(b, -1)
	}
	psi = math.Atan2(dot(d, b), dot(d, a)) * 180 / math.Pi
	psi = math.Mod(psi+360, 180)
	switch {
	case psi < 35 || psi >= 155:
		v = cine.View2CH
	case psi < 97:
		v = cine.View4CH
	default:
		v = cine.View3CH
	}
	return v, psi, theta
}

// choose picks one series per view (SAX: one stack, or every single-slice
// SAX series parallel to the best one, to be stacked) and marks the rest.
func choose(decisions []*Decision) map[cine.View][]*cine.Series {
	byView := map[cine.View][]*Decision{}
	for _, d := range decisions {
		if d.View != "" {
			byView[d.View] = append(byView[d.View], d)
		}
	}
	out := map[cine.View][]*cine.Series{}
	for v, ds := range byView {
		sort.SliceStable(ds, func(i, j int) bool {
			if ds[i].priority != ds[j].priority {
				return ds[i].priority < ds[j].priority
			}
			if v == cine.ViewSAX && len(ds[i].Series.Slices) != len(ds[j].Series.Slices) {
				return len(ds[i].Series.Slices) > len(ds[j].Series.Slices)
			}
			// A repeated acquisition (a failed breath-hold done again)
			// replaces the earlier one: the later series wins.
			return seriesNumberLess(ds[j].Series, ds[i].Series)
		})
		best := ds[0]
		out[v] = []*cine.Series{best.Series}
		for _, d := range ds[1:] {
			if v == cine.ViewSAX && len(best.Series.Slices) == 1 && len(d.Series.Slices) == 1 &&
				parallel(best.Series, d.Series) && d.Series.Rows == best.Series.Rows && d.Series.Cols == best.Series.Cols {
				out[v] = append(out[v], d.Series)
				continue
			}
			d.Reason = fmt.Sprintf("another %s series was chosen: %s", v, best.Series.Name())
			d.View = ""
		}
	}
	return out
}

// distinctPositions counts the different slice positions along the common
// normal of single-slice series (1 mm apart or more).
func distinctPositions(ds []*Decision) int {
	var pos []float64
	for _, d := range ds {
		img := d.Series.Slices[0].Images[0]
		if !img.HasPosition {
			continue
		}
		p := dot(img.Position, ds[0].Series.Normal)
		dup := false
		for _, q := range pos {
			if math.Abs(p-q) < 1 {
				dup = true
			}
		}
		if !dup {
			pos = append(pos, p)
		}
	}
	return len(pos)
}

func parallel(a, b *cine.Series) bool {
	return a.HasOrientation && b.HasOrientation && math.Abs(dot(a.Normal, b.Normal)) > math.Cos(2*math.Pi/180)
}

func seriesNumberLess(a, b *cine.Series) bool {
	var x, y int
	fmt.Sscan(a.SeriesNumber, &x)
	fmt.Sscan(b.SeriesNumber, &y)
	if x != y {
		return x < y
	}
	return a.SeriesUID < b.SeriesUID
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func scale(a [3]float64, k float64) [3]float64 {
	return [3]float64{a[0] * k, a[1] * k, a[2] * k}
}
func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func unit(a [3]float64) [3]float64 {
	l := math.Sqrt(dot(a, a))
	if l == 0 {
		return a
	}
	return scale(a, 1/l)
}
