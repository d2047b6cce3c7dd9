package explain

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

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
		p.Title.Text += ", " + subset + " studies"
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
