package phantom

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Contrast selects the tissue signal model of an acquisition.
type Contrast int

const (
	// Cine is balanced SSFP: bright blood and fat, dark myocardium.
	Cine Contrast = iota
	// LGE is inversion-recovery late gadolinium enhancement: nulled
	// myocardium, grey blood, bright scar.
	LGE
)

// levels returns the relative signal of every tissue class (blood = 1 on
// cine); myoBlood is the cine myocardium/blood ratio.
func levels(c Contrast, myoBlood float64) [nTissue]float32 {
	var l [nTissue]float32
	if c == LGE {
		l = [nTissue]float32{tAir: 0, tLung: 0.03, tFat: 0.55, tMuscle: 0.12, tMyo: 0.03, tBlood: 0.42,
			tLiver: 0.28, tMarrow: 0.35, tCSF: 0.08, tFluid: 0.1, tScar: 1.0, tPericardium: 0.25, tBowel: 0.25, tMediastinum: 0.5}
		return l
	}
	m := float32(myoBlood)
	l = [nTissue]float32{tAir: 0, tLung: 0.05, tFat: 0.82, tMuscle: m * 1.05, tMyo: m, tBlood: 1,
		tLiver: m * 1.1, tMarrow: 0.5, tCSF: 0.95, tFluid: 1.08, tScar: m, tPericardium: 0.12, tBowel: 0.45, tMediastinum: 0.76}
	return l
}

// RenderOptions controls image formation. The zero value renders cine
// contrast, SNR 40, blood at 1000, mild coil shading, noise seed 0.
type RenderOptions struct {
	Contrast Contrast
	// SNR is the blood signal over the noise σ (0 means 40; negative means no noise).
	SNR float64
	// Gain is the real-world value of blood at the coil sensitivity centre (0 means 1000).
	Gain float64
	// Shading is the coil-sensitivity variation across the field of view,
	// 0..1 (0 means 0.35; negative means none).
	Shading float64
	// MyoBlood is the cine myocardium/blood signal ratio (0 means 0.3).
	MyoBlood float64
	// NoiseSeed seeds the noise of the first image; image i of a call uses
	// NoiseSeed+i.
	NoiseSeed uint64
}

func (o RenderOptions) defaults() RenderOptions {
	if o.SNR == 0 {
		o.SNR = 40
	}
	if o.Gain == 0 {
		o.Gain = 1000
	}
	if o.Shading == 0 {
		o.Shading = 0.35
	}
	if o.MyoBlood == 0 {
		o.MyoBlood = 0.3
	}
	return o
}

// normTable holds 2¹² standard normal deviates (16 KB, so it stays in the
// L1 cache); per-pixel noise indexes it with a fast generator (drawing true
// normals per pixel would dominate the cost of a cohort).
const normBits = 12

var normTable = sync.OnceValue(func() *[1 << normBits]float32 {
	var t [1 << normBits]float32
	r := rand.New(rand.NewPCG(0x6e6f697365, 0x7461626c65))
	for i := range t {
		t[i] = float32(r.NormFloat64())
	}
	return &t
})

// splitmix64 is a tiny, fast 64-bit generator for noise indices.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// planeRender renders one plane of a subject at any phase: the static body
// classes and coil shading are computed once, and each frame re-evaluates
// only the pixels near the heart.
type planeRender struct {
	s          *Subject
	p          Plane
	bg         []tissue
	shade      []float32
	h0, hr, hc Vec3 // heart coordinates of pixel (0,0) and their steps per row and column
	r0, r1     int  // heart region of interest, rows [r0, r1) and columns [c0, c1)
	c0, c1     int
	centre     Vec3 // heart bounding sphere in heart coordinates
	bound2     float64
}

// scratch holds reusable per-plane buffers (one per worker), so rendering a
// cohort does not allocate per plane.
type scratch struct {
	bg, cls         []tissue
	shade, tmp, sig []float32
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

func (s *Subject) newPlaneRender(p Plane, shading float64) *planeRender {
	return s.newPlaneRenderInto(p, shading, &scratch{})
}

// newPlaneRenderInto is newPlaneRender using sc's background and shading
// buffers; the render is valid until sc is reused.
func (s *Subject) newPlaneRenderInto(p Plane, shading float64, sc *scratch) *planeRender {
	pr := &planeRender{s: s, p: p}
	n := p.Rows * p.Cols
	sc.bg = grow(sc.bg, n)
	sc.shade = grow(sc.shade, n)
	pr.bg, pr.shade = sc.bg, sc.shade
	b := &s.body
	// Coil sensitivity depends on the anterior–posterior position only:
	// tabulate it at 0.5 mm.
	y0, y1 := b.cy-b.ay-10, b.cy+b.ay+10
	nTab := int((y1-y0)*2) + 2
	tab := make([]float32, nTab)
	for i := range tab {
		y := y0 + float64(i)/2
		dA := (y - (b.cy - b.ay)) / 110
		dP := ((b.cy + b.ay) - y) / 140
		sh := 0.55*math.Exp(-math.Max(dA, 0)) + 0.45*math.Exp(-math.Max(dP, 0))
		tab[i] = float32(1 - shading + shading*2*sh)
	}
	dc, dr := p.Row.Scale(p.Spacing[1]), p.Col.Scale(p.Spacing[0])
	for r := 0; r < p.Rows; r++ {
		x := p.Position.Add(dr.Scale(float64(r)))
		for c := 0; c < p.Cols; c++ {
			i := r*p.Cols + c
			pr.bg[i] = b.at(x)
			k := int((x[1] - y0) * 2)
			pr.shade[i] = tab[min(max(k, 0), nTab-1)]
			x[0] += dc[0]
			x[1] += dc[1]
			x[2] += dc[2]
		}
	}
	pr.h0 = s.toHeart(p.Position)
	pr.hc = s.toHeart(p.Position.Add(p.Row.Scale(p.Spacing[1]))).Sub(pr.h0)
	pr.hr = s.toHeart(p.Position.Add(p.Col.Scale(p.Spacing[0]))).Sub(pr.h0)
	h := s.h
	pr.centre = Vec3{0, 0, h.centreW}
	pr.bound2 = h.bound * h.bound
	// bounding box of the sphere's cut with the plane
	cp := s.fromHeart(pr.centre)
	d := cp.Sub(p.Position)
	dist := d.Dot(p.Normal())
	if math.Abs(dist) >= h.bound {
		return pr
	}
	rad := math.Sqrt(h.bound*h.bound - dist*dist)
	cc, rr := d.Dot(p.Row)/p.Spacing[1], d.Dot(p.Col)/p.Spacing[0]
	pr.c0 = max(0, int(math.Floor(cc-rad/p.Spacing[1])))
	pr.c1 = min(p.Cols, int(math.Ceil(cc+rad/p.Spacing[1]))+1)
	pr.r0 = max(0, int(math.Floor(rr-rad/p.Spacing[0])))
	pr.r1 = min(p.Rows, int(math.Ceil(rr+rad/p.Spacing[0]))+1)
	return pr
}

// classify fills dst with the tissue class of every pixel at time t
// (fraction of the RR interval).
func (pr *planeRender) classify(t float64, dst []tissue) {
	copy(dst, pr.bg)
	if pr.r1 <= pr.r0 || pr.c1 <= pr.c0 {
		return
	}
	h := pr.s.h
	f := h.frameAt(t)
	cols := pr.p.Cols
	for r := pr.r0; r < pr.r1; r++ {
		q := pr.h0.Add(pr.hr.Scale(float64(r))).Add(pr.hc.Scale(float64(pr.c0)))
		for c := pr.c0; c < pr.c1; c++ {
			if h.vent.contains(q[0], q[1], q[2]) || h.atr.contains(q[0], q[1], q[2]) {
				if k := f.classify(q[0], q[1], q[2]); k != tNone {
					dst[r*cols+c] = k
				}
			}
			q[0] += pr.hc[0]
			q[1] += pr.hc[1]
			q[2] += pr.hc[2]
		}
	}
}

// imager turns tissue classes into MR magnitude images: relative signal,
// in-plane blur (the acquisition's point-spread), coil shading, Rician noise.
type imager struct {
	lv    [nTissue]float32
	gain  float32
	sigma float32 // noise σ relative to blood
	rows  int
	cols  int
	tmp   []float32
	sig   []float32
	ink   bool
}

func newImager(o RenderOptions, rows, cols int) *imager {
	return newImagerInto(o, rows, cols, &scratch{})
}

// newImagerInto is newImager using sc's signal buffers.
func newImagerInto(o RenderOptions, rows, cols int, sc *scratch) *imager {
	o = o.defaults()
	sc.tmp = grow(sc.tmp, rows*cols)
	sc.sig = grow(sc.sig, rows*cols)
	im := &imager{lv: levels(o.Contrast, o.MyoBlood), gain: float32(o.Gain), rows: rows, cols: cols,
		tmp: sc.tmp, sig: sc.sig, ink: o.Contrast == Cine}
	if o.SNR > 0 {
		im.sigma = float32(1 / o.SNR)
	}
	return im
}

// fatty reports whether a class is fat-based, water reports water-based
// soft tissue: at their interfaces bSSFP shows a dark chemical-shift line
// (the "India ink" artefact), drawn on the fat side.
var fatty = [nTissue]bool{tFat: true, tMediastinum: true, tMarrow: true}
var water = [nTissue]bool{tMuscle: true, tMyo: true, tBlood: true, tLiver: true, tCSF: true, tFluid: true,
	tScar: true, tPericardium: true, tBowel: true}

// blurH maps classes to signal (with the fat–water boundary line on cine)
// and blurs rows with [1 2 1]/4 into im.tmp.
func (im *imager) blurH(cls []tissue) {
	rows, cols := im.rows, im.cols
	sig := im.sig[:len(cls)]
	lv := &im.lv
	for i, k := range cls {
		sig[i] = lv[k]
	}
	if im.ink {
		for i, k := range cls {
			if !fatty[k] {
				continue
			}
			r, c := i/cols, i%cols
			if (c > 0 && water[cls[i-1]]) || (c+1 < cols && water[cls[i+1]]) ||
				(r > 0 && water[cls[i-cols]]) || (r+1 < rows && water[cls[i+cols]]) {
				sig[i] *= 0.3
			}
		}
	}
	for r := 0; r < rows; r++ {
		row := sig[r*cols : (r+1)*cols]
		out := im.tmp[r*cols : (r+1)*cols]
		prev := row[0]
		cur := prev
		for c := 0; c < cols; c++ {
			next := cur
			if c+1 < cols {
				next = row[c+1]
			}
			out[c] = 0.25*prev + 0.5*cur + 0.25*next
			prev, cur = cur, next
		}
	}
}

// sink receives the final real-world value of every pixel.
type sink interface{ put(i int, v float32) }

type floatSink []float32

func (f floatSink) put(i int, v float32) { f[i] = v }

// finish blurs vertically, applies coil shading, adds Rician noise (a
// complex Gaussian pair, magnitude taken) and hands each value to out.
func finish[S sink](im *imager, shade []float32, seed uint64, out S) {
	rows, cols := im.rows, im.cols
	nt := normTable()
	rng := splitmix64(seed)
	sigma, gain := im.sigma, im.gain
	for r := 0; r < rows; r++ {
		up := im.tmp[max(r-1, 0)*cols : max(r-1, 0)*cols+cols]
		mid := im.tmp[r*cols : r*cols+cols]
		dn := im.tmp[min(r+1, rows-1)*cols : min(r+1, rows-1)*cols+cols]
		sh := shade[r*cols : r*cols+cols]
		base := r * cols
		if sigma == 0 {
			for c := range mid {
				out.put(base+c, (0.25*up[c]+0.5*mid[c]+0.25*dn[c])*sh[c]*gain)
			}
			continue
		}
		var bits uint64
		nb := 0
		for j := range mid {
			if nb < 2 {
				bits, nb = rng.next(), 5
			}
			v := (0.25*up[j] + 0.5*mid[j] + 0.25*dn[j]) * sh[j]
			a := v + sigma*nt[bits&(1<<normBits-1)]
			b := sigma * nt[(bits>>normBits)&(1<<normBits-1)]
			bits >>= 2 * normBits
			nb -= 2
			out.put(base+j, float32(math.Sqrt(float64(a*a+b*b)))*gain)
		}
	}
}

// float renders real-world values into dst.
func (im *imager) float(cls []tissue, shade []float32, seed uint64, dst []float32) {
	im.blurH(cls)
	finish(im, shade, seed, floatSink(dst))
}

// stored renders 12-bit stored values (real-world = stored·slope +
// intercept) as little-endian uint16 bytes into dst. It is finish with the
// quantisation inlined: the cohort's hottest loop.
func (im *imager) stored(cls []tissue, shade []float32, seed uint64, slope, intercept float64, dst []byte) {
	im.blurH(cls)
	rows, cols := im.rows, im.cols
	nt := normTable()
	rng := splitmix64(seed)
	sigma := im.sigma
	gain := im.gain / float32(slope)
	off := float32(intercept / slope)
	var bits uint64
	var nb int
	const mask = 1<<normBits - 1
	for r := 0; r < rows; r++ {
		up := im.tmp[max(r-1, 0)*cols : max(r-1, 0)*cols+cols]
		mid := im.tmp[r*cols : r*cols+cols]
		dn := im.tmp[min(r+1, rows-1)*cols : min(r+1, rows-1)*cols+cols]
		sh := shade[r*cols : r*cols+cols]
		out := dst[2*r*cols : 2*(r+1)*cols]
		_, _, _, _ = up[len(mid)-1], dn[len(mid)-1], sh[len(mid)-1], out[2*len(mid)-1]
		for c := range mid {
			v := (0.25*up[c] + 0.5*mid[c] + 0.25*dn[c]) * sh[c]
			if sigma > 0 {
				if nb < 2 {
					bits, nb = rng.next(), 5 // five 12-bit indices per draw
				}
				a := v + sigma*nt[bits&mask]
				b := sigma * nt[(bits>>normBits)&mask]
				bits >>= 2 * normBits
				nb -= 2
				v = float32(math.Sqrt(float64(a*a + b*b)))
			}
			x := min(max(v*gain-off+0.5, 0), 4095)
			u := uint16(x)
			out[2*c] = byte(u)
			out[2*c+1] = byte(u >> 8)
		}
	}
}

// Render renders the subject cut by plane p at the given times (fractions
// of the RR interval, 0 = end-diastole) and returns one real-world image per
// time, rows×cols, row-major. The heart is the same analytic model the
// ground truth is integrated from.
func (s *Subject) Render(p Plane, times []float64, o RenderOptions) [][]float32 {
	o = o.defaults()
	shading := o.Shading
	if shading < 0 {
		shading = 0
	}
	pr := s.newPlaneRender(p, shading)
	im := newImager(o, p.Rows, p.Cols)
	cls := make([]tissue, p.Rows*p.Cols)
	out := make([][]float32, len(times))
	for i, t := range times {
		pr.classify(t, cls)
		out[i] = make([]float32, len(cls))
		im.float(cls, pr.shade, o.NoiseSeed+uint64(i), out[i])
	}
	return out
}

// FrameTimes returns the times of the subject's n frames: k/n of the RR interval.
func FrameTimes(n int) []float64 {
	t := make([]float64, n)
	for k := range t {
		t[k] = float64(k) / float64(n)
	}
	return t
}
