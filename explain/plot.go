package explain

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// savePlot writes p as dir/name.png and dir/name.svg (each atomically) and
// returns both paths.
func savePlot(p *plot.Plot, w, h vg.Length, dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	var out []string
	for _, ext := range []string{"png", "svg"} {
		wt, err := p.WriterTo(w, h, ext)
		if err != nil {
			return out, fmt.Errorf("explain: %s: %w", name, err)
		}
		path := filepath.Join(dir, name+"."+ext)
		if err := fsutil.WriteFileAtomic(path, func(f io.Writer) error { _, err := wt.WriteTo(f); return err }); err != nil {
			return out, fmt.Errorf("explain: %s: %w", path, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// divergingPalette runs from blue through white to red in n steps
// (ColorBrewer RdBu end points).
type divergingPalette int

func (n divergingPalette) Colors() []color.Color {
	lo := [3]float64{0x21, 0x66, 0xac}
	hi := [3]float64{0xb2, 0x18, 0x2b}
	out := make([]color.Color, int(n))
	for i := range out {
		t := float64(i)/float64(int(n)-1)*2 - 1 // −1 … 1
		end := hi
		if t < 0 {
			end, t = lo, -t
		}
		var c [3]uint8
		for k := range c {
			c[k] = uint8(math.Round(255 + (end[k]-255)*t))
		}
		out[i] = color.RGBA{R: c[0], G: c[1], B: c[2], A: 255}
	}
	return out
}

// viewGrid is the heat map's grid: columns are views, rows targets.
type viewGrid struct {
	views, targets []string
	z              [][]float64 // [target][view], NaN where absent
}

func (g viewGrid) Dims() (c, r int)   { return len(g.views), len(g.targets) }
func (g viewGrid) Z(c, r int) float64 { return g.z[r][c] }
func (g viewGrid) X(c int) float64    { return float64(c) }
func (g viewGrid) Y(r int) float64    { return float64(r) }

func gridOf(rows []ViewAttention, subset string) viewGrid {
	var g viewGrid
	for _, r := range rows {
		if r.Subset != subset {
			continue
		}
		if !slices.Contains(g.targets, r.Target) {
			g.targets = append(g.targets, r.Target)
		}
		if !slices.Contains(g.views, r.View) {
			g.views = append(g.views, r.View)
		}
	}
	// Views in ViewOrder first.
	slices.SortStableFunc(g.views, func(a, b string) int { return viewRank(a) - viewRank(b) })
	// The first target at the top.
	slices.Reverse(g.targets)
	g.z = make([][]float64, len(g.targets))
	for i := range g.z {
		g.z[i] = make([]float64, len(g.views))
		for j := range g.z[i] {
			g.z[i][j] = math.NaN()
		}
	}
	for _, r := range rows {
		if r.Subset == subset {
			g.z[slices.Index(g.targets, r.Target)][slices.Index(g.views, r.View)] = r.Relative
		}
	}
	return g
}

func viewRank(v string) int {
	if i := slices.Index(ViewOrder, v); i >= 0 {
		return i
	}
	return len(ViewOrder)
}

// ViewHeatmap draws the relative view attention of one subset as a heat
// map — views across, targets down, each cell coloured on a blue–white–red
// scale centred on 1 (uniform attention) and labelled with its value: the
// paper's Figure 4c.
func ViewHeatmap(rows []ViewAttention, subset string) (*plot.Plot, error) {
	g := gridOf(rows, subset)
	if len(g.targets) == 0 {
		return nil, fmt.Errorf("explain: no view attention rows for subset %q", subset)
	}
	dev := 0.02
	for _, zr := range g.z {
		for _, z := range zr {
			if !math.IsNaN(z) {
				dev = max(dev, math.Abs(z-1))
			}
		}
	}
	hm := plotter.NewHeatMap(g, divergingPalette(255))
	hm.Min, hm.Max = 1-dev, 1+dev
	hm.NaN = color.RGBA{R: 0xdd, G: 0xdd, B: 0xdd, A: 0xff}
	p := plot.New()
	p.Title.Text = "Relative view attention (1 = uniform share)"
	if subset != SubsetAll {
		p.Title.Text += "\n" + subset + " studies"
	}
	p.Add(hm)
	var xys plotter.XYs
	var labels []string
	var styles []text.Style
	for r, zr := range g.z {
		for c, z := range zr {
			if math.IsNaN(z) {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
			labels = append(labels, fmt.Sprintf("%.3f", z))
			st := p.X.Tick.Label // a copy of the default text style
			st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
			st.Color = color.Black
			if math.Abs(z-1) > 0.6*dev {
				st.Color = color.White
			}
			styles = append(styles, st)
		}
	}
	if len(xys) > 0 {
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		l.TextStyle = styles
		p.Add(l)
	}
	p.NominalX(g.views...)
	p.NominalY(g.targets...)
	p.X.Label.Text = "view"
	p.X.Padding, p.Y.Padding = 0, 0
	return p, nil
}

// heatmapSize sizes the heat map for its number of targets.
func heatmapSize(rows []ViewAttention) (w, h vg.Length) {
	g := gridOf(rows, SubsetAll)
	longest := 0
	for _, t := range g.targets {
		longest = max(longest, len(t))
	}
	w = vg.Length(len(g.views))*0.8*vg.Inch + vg.Length(longest)*0.075*vg.Inch + 0.8*vg.Inch
	h = vg.Length(len(g.targets))*0.3*vg.Inch + 1.2*vg.Inch
	return max(w, 4*vg.Inch), max(h, 2.5*vg.Inch)
}

var _ palette.Palette = divergingPalette(2)

// categorical is the Tableau 10 palette.
var categorical = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// UMAPScatter draws 2-D points coloured by label: one colour per value
// (legend) for up to 10 distinct labels, a magma scale (legend with the
// range) for more numeric values, grey for missing labels; without labels
// one colour.
func UMAPScatter(points [][2]float64, labels []string, colorBy string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "UMAP"
	if colorBy != "" {
		p.Title.Text += " coloured by " + colorBy
	}
	p.X.Label.Text, p.Y.Label.Text = "UMAP 1", "UMAP 2"
	radius := vg.Points(2.2)
	if len(points) > 2000 {
		radius = vg.Points(1.2)
	}
	add := func(xy plotter.XYs, c color.Color, name string) error {
		if len(xy) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, radius, draw.CircleGlyph{}
		p.Add(s)
		if name != "" {
			p.Legend.Add(name, legendDot(c))
		}
		return nil
	}
	groups := map[string]plotter.XYs{}
	var order []string
	var missing plotter.XYs
	for i, pt := range points {
		lab := ""
		if labels != nil {
			lab = labels[i]
		}
		if labels != nil && lab == "" {
			missing = append(missing, plotter.XY{X: pt[0], Y: pt[1]})
			continue
		}
		if _, ok := groups[lab]; !ok {
			order = append(order, lab)
		}
		groups[lab] = append(groups[lab], plotter.XY{X: pt[0], Y: pt[1]})
	}
	numeric := len(order) > 0
	vals := map[string]float64{}
	for _, l := range order {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			numeric = false
			break
		}
		vals[l] = v
	}
	grey := color.RGBA{0xbb, 0xbb, 0xbb, 0xff}
	switch {
	case labels == nil:
		if err := add(groups[""], categorical[0], ""); err != nil {
			return nil, err
		}
	case len(order) <= len(categorical):
		if numeric {
			slices.SortFunc(order, func(a, b string) int { return cmpFloat(vals[a], vals[b]) })
		} else {
			slices.Sort(order)
		}
		for i, l := range order {
			if err := add(groups[l], categorical[i], l); err != nil {
				return nil, err
			}
		}
	case numeric:
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			lo, hi = min(lo, v), max(hi, v)
		}
		for _, l := range order {
			t := 0.0
			if hi > lo {
				t = (vals[l] - lo) / (hi - lo)
			}
			c := magmaLUT[min(int(t*200)+30, 255)] // skip magma's near-black start
			if err := add(groups[l], color.RGBA{c[0], c[1], c[2], 0xff}, ""); err != nil {
				return nil, err
			}
		}
		for _, e := range []struct {
			v float64
			t float64
		}{{lo, 0}, {hi, 1}} {
			c := magmaLUT[int(e.t*200)+30]
			p.Legend.Add(strconv.FormatFloat(e.v, 'g', 4, 64), legendDot(color.RGBA{c[0], c[1], c[2], 0xff}))
		}
	default:
		return nil, fmt.Errorf("explain: %d distinct non-numeric labels of %q: too many to colour (at most %d)", len(order), colorBy, len(categorical))
	}
	if err := add(missing, grey, "no label"); err != nil {
		return nil, err
	}
	p.Legend.Top = true
	return p, nil
}

// legendDot is a legend thumbnail: a dot larger than the plot's points.
func legendDot(c color.Color) plot.Thumbnailer {
	return dot{draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}}
}

type dot struct{ style draw.GlyphStyle }

func (d dot) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(d.style, c.Center())
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
