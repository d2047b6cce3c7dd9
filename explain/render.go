package explain

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/cmrfm/cmrfm/model/mvit"
)

// Scale says over which values a heat map is min–max scaled to the colour
// map.
type Scale int

const (
	// ScaleFrame scales every frame to its own minimum and maximum, as the
	// reference renders (matplotlib's autoscale per frame): the brightest
	// token of every frame is yellow, whatever its weight.
	ScaleFrame Scale = iota
	// ScaleVideo uses one minimum and maximum for the whole video, so
	// frames compare.
	ScaleVideo
)

// ParseScale parses "frame" or "video".
func ParseScale(s string) (Scale, error) {
	switch s {
	case "frame", "":
		return ScaleFrame, nil
	case "video":
		return ScaleVideo, nil
	}
	return 0, fmt.Errorf("explain: scale %q: want frame or video", s)
}

func (s Scale) String() string {
	if s == ScaleVideo {
		return "video"
	}
	return "frame"
}

// RenderOptions controls how maps become frames.
type RenderOptions struct {
	// Scale is the min–max scaling (ScaleFrame, the reference's, by
	// default).
	Scale Scale
	// Overlay blends the heat map over the input frame (with Alpha);
	// otherwise the heat map alone is shown, as the reference does.
	Overlay bool
	// Alpha is the heat map's opacity in overlays (0 means 0.5).
	Alpha float64
	// Size is the side of the rendered frames in pixels: the model's input
	// frames are upscaled (nearest) by the largest integer factor that
	// keeps them within Size (0 means 224; the input size when larger).
	Size int
}

func (o RenderOptions) alpha() float64 {
	if o.Alpha <= 0 || o.Alpha > 1 {
		return 0.5
	}
	return o.Alpha
}

// factor is the integer upscaling of frames of side n.
func (o RenderOptions) factor(h, w int) int {
	size := o.Size
	if size <= 0 {
		size = 224
	}
	return max(1, size/max(h, w))
}

// lutIndices maps values (T frames of n values each) to colour-map indices
// as matplotlib does for imshow(frame/225) with autoscale: the values are
// divided by 225 in float32 (the reference's own scaling, kept so every
// index is bit-identical), normalised to [0, 1] over the frame (or the
// whole video), multiplied by 256 and truncated, 1.0 going to 255. A
// constant frame maps to index 0; NaN to 0.
func lutIndices(vals []float32, frames int, scale Scale) []uint8 {
	n := len(vals) / frames
	out := make([]uint8, len(vals))
	v := make([]float32, len(vals))
	for i, x := range vals {
		v[i] = x / 225
	}
	norm := func(lo, hi int) {
		vmin, vmax := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, x := range v[lo:hi] {
			if x < vmin {
				vmin = x
			}
			if x > vmax {
				vmax = x
			}
		}
		if !(vmax > vmin) {
			return // constant (or all NaN): index 0, as matplotlib
		}
		d := float32(float64(vmax) - float64(vmin))
		for i := lo; i < hi; i++ {
			x := (v[i] - vmin) / d * 256
			switch {
			case x != x || x < 0:
				out[i] = 0
			case x >= 255:
				out[i] = 255
			default:
				out[i] = uint8(int(x))
			}
		}
	}
	if scale == ScaleVideo {
		norm(0, len(v))
		return out
	}
	for f := range frames {
		norm(f*n, (f+1)*n)
	}
	return out
}

// Video is a clip of RGB frames, with a paletted copy of every frame for
// GIF output.
type Video struct {
	W, H   int
	Frames []*image.RGBA
	// Paletted holds the same frames in one palette of at most 256
	// colours (exact for heat maps and grey frames, a 16×16 grey × heat
	// quantisation for overlays).
	Paletted []*image.Paletted
}

func lutPalette(lut *[256][3]uint8) color.Palette {
	p := make(color.Palette, 256)
	for i, c := range lut {
		p[i] = color.RGBA{R: c[0], G: c[1], B: c[2], A: 255}
	}
	return p
}

var (
	magmaPalette = lutPalette(&magmaLUT)
	grayPalette  = lutPalette(&gistGrayLUT)
)

// overlayPalette is the GIF palette of overlays: 16 grey levels × 16 heat
// levels, blended with alpha.
func overlayPalette(alpha float64) color.Palette {
	p := make(color.Palette, 256)
	for g := range 16 {
		for h := range 16 {
			gray := float64(g * 17)
			heat := magmaLUT[h*17]
			var c [3]uint8
			for k := range 3 {
				c[k] = uint8(math.Round((1-alpha)*gray + alpha*float64(heat[k])))
			}
			p[g*16+h] = color.RGBA{R: c[0], G: c[1], B: c[2], A: 255}
		}
	}
	return p
}

// indexVideo builds a video from colour-map indices (frames × h × w),
// upscaled by factor, in palette pal.
func indexVideo(idx []uint8, frames, h, w, factor int, pal color.Palette) *Video {
	W, H := w*factor, h*factor
	v := &Video{W: W, H: H}
	n := h * w
	for f := range frames {
		src := idx[f*n : (f+1)*n]
		pm := image.NewPaletted(image.Rect(0, 0, W, H), pal)
		rgb := image.NewRGBA(image.Rect(0, 0, W, H))
		for y := range H {
			row := src[(y/factor)*w:]
			for x := range W {
				i := row[x/factor]
				pm.Pix[y*pm.Stride+x] = i
				c := pal[i].(color.RGBA)
				o := y*rgb.Stride + 4*x
				rgb.Pix[o], rgb.Pix[o+1], rgb.Pix[o+2], rgb.Pix[o+3] = c.R, c.G, c.B, 255
			}
		}
		v.Frames = append(v.Frames, rgb)
		v.Paletted = append(v.Paletted, pm)
	}
	return v
}

// overlayVideo blends heat indices over grey indices (both frames × h × w).
func overlayVideo(heat, gray []uint8, frames, h, w, factor int, alpha float64) *Video {
	W, H := w*factor, h*factor
	pal := overlayPalette(alpha)
	v := &Video{W: W, H: H}
	n := h * w
	for f := range frames {
		hs, gs := heat[f*n:(f+1)*n], gray[f*n:(f+1)*n]
		pm := image.NewPaletted(image.Rect(0, 0, W, H), pal)
		rgb := image.NewRGBA(image.Rect(0, 0, W, H))
		for y := range H {
			for x := range W {
				j := (y/factor)*w + x/factor
				hi, gi := hs[j], gs[j]
				pm.Pix[y*pm.Stride+x] = (gi>>4)*16 + hi>>4
				g := float64(gistGrayLUT[gi][0])
				c := magmaLUT[hi]
				o := y*rgb.Stride + 4*x
				for k := range 3 {
					rgb.Pix[o+k] = uint8(math.Round((1-alpha)*g + alpha*float64(c[k])))
				}
				rgb.Pix[o+3] = 255
			}
		}
		v.Frames = append(v.Frames, rgb)
		v.Paletted = append(v.Paletted, pm)
	}
	return v
}

// Renderer turns maps over a model's input grid into videos.
type Renderer struct {
	Input mvit.Grid // (T, H, W) of the model's input clip
	Opts  RenderOptions
	// grayIdx is the input clip's grey colour-map indices (for overlays).
	grayIdx []uint8
}

// NewRenderer renders over input grid in with options o; clip is the
// channel of the network input shown as the input video and under
// overlays (T·H·W values).
func NewRenderer(in mvit.Grid, clip []float32, o RenderOptions) (*Renderer, error) {
	if len(clip) != in.Tokens() {
		return nil, fmt.Errorf("explain: input frames hold %d values, want %d (%v)", len(clip), in.Tokens(), in)
	}
	// The input video is always min–max scaled per frame, as the reference.
	return &Renderer{Input: in, Opts: o, grayIdx: lutIndices(clip, in[0], ScaleFrame)}, nil
}

// InputVideo renders the input clip in grey (gist_gray, per-frame scaling).
func (r *Renderer) InputVideo() *Video {
	in := r.Input
	return indexVideo(r.grayIdx, in[0], in[1], in[2], r.Opts.factor(in[1], in[2]), grayPalette)
}

// MapVideo renders a map over grid g (query tokens in grid order): it is
// nearest-interpolated to the input grid, then coloured with magma (and
// blended over the input frames with Overlay).
func (r *Renderer) MapVideo(m []float32, g mvit.Grid) (*Video, error) {
	if len(m) != g.Tokens() {
		return nil, fmt.Errorf("explain: map of %d values for grid %v", len(m), g)
	}
	in := r.Input
	full := UpsampleNearest(m, g, in)
	idx := lutIndices(full, in[0], r.Opts.Scale)
	f := r.Opts.factor(in[1], in[2])
	if r.Opts.Overlay {
		return overlayVideo(idx, r.grayIdx, in[0], in[1], in[2], f, r.Opts.alpha()), nil
	}
	return indexVideo(idx, in[0], in[1], in[2], f, magmaPalette), nil
}

// Grid tiles equally sized videos of one palette into one, cols tiles per
// row, with gap pixels of the palette's first colour between tiles.
func Grid(videos []*Video, cols, gap int) (*Video, error) {
	if len(videos) == 0 {
		return nil, fmt.Errorf("explain: grid of no videos")
	}
	v0 := videos[0]
	for _, v := range videos {
		if v.W != v0.W || v.H != v0.H || len(v.Frames) != len(v0.Frames) {
			return nil, fmt.Errorf("explain: grid of videos of different sizes")
		}
	}
	cols = min(max(cols, 1), len(videos))
	rows := (len(videos) + cols - 1) / cols
	W, H := cols*v0.W+(cols-1)*gap, rows*v0.H+(rows-1)*gap
	W, H = W+W%2, H+H%2 // even sides for yuv420p
	out := &Video{W: W, H: H}
	pal := v0.Paletted[0].Palette
	bg := pal[0].(color.RGBA)
	for f := range v0.Frames {
		pm := image.NewPaletted(image.Rect(0, 0, W, H), pal)
		rgb := image.NewRGBA(image.Rect(0, 0, W, H))
		for i := 0; i < len(rgb.Pix); i += 4 {
			rgb.Pix[i], rgb.Pix[i+1], rgb.Pix[i+2], rgb.Pix[i+3] = bg.R, bg.G, bg.B, 255
		}
		for k, v := range videos {
			x0, y0 := (k%cols)*(v0.W+gap), (k/cols)*(v0.H+gap)
			for y := range v0.H {
				copy(pm.Pix[(y0+y)*pm.Stride+x0:], v.Paletted[f].Pix[y*v.Paletted[f].Stride:y*v.Paletted[f].Stride+v0.W])
				copy(rgb.Pix[(y0+y)*rgb.Stride+4*x0:], v.Frames[f].Pix[y*v.Frames[f].Stride:y*v.Frames[f].Stride+4*v0.W])
			}
		}
		out.Frames = append(out.Frames, rgb)
		out.Paletted = append(out.Paletted, pm)
	}
	return out, nil
}
