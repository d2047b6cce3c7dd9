package phantom

import (
	"math"
)

// tissue is the class of one voxel of the analytic anatomy.
type tissue uint8

const (
	tAir tissue = iota
	tLung
	tFat
	tMuscle
	tMyo
	tBlood
	tLiver
	tMarrow
	tCSF
	tFluid       // pericardial effusion
	tScar        // infarcted myocardium (bright only on LGE)
	tPericardium // fibrous pericardium, visible when an effusion separates it
	tBowel       // stomach / spleen side of the upper abdomen
	tMediastinum // mediastinal fat and soft tissue
	nTissue
	tNone tissue = 255 // not part of the heart model: fall back to the body
)

// region is a smooth regional weight on the LV wall: an angular sector of
// the short-axis circle times a longitudinal window in normalised long-axis
// position u (0 at the base plane, 1 at the endocardial apex). Angles are
// measured in the short-axis plane from anterior (0) toward lateral (π/2).
type region struct {
	on                 bool
	allAround          bool    // every angle (apical hypertrophy)
	cosC, sinC         float64 // sector centre
	cosHW              float64 // cosine of the half-width
	u0, u1, edge       float64 // longitudinal window and its soft edge
	centreDeg, halfDeg float64 // for reports and truth
}

func newRegion(centreDeg, halfWidthDeg, u0, u1, edge float64) region {
	c := centreDeg * math.Pi / 180
	return region{on: true, cosC: math.Cos(c), sinC: math.Sin(c), cosHW: math.Cos(halfWidthDeg * math.Pi / 180),
		u0: u0, u1: u1, edge: edge, centreDeg: centreDeg, halfDeg: halfWidthDeg}
}

// weight returns the region's weight in [0,1] at tissue angle (ct, st) =
// (cos θ, sin θ) and normalised long-axis position u.
func (r *region) weight(ct, st, u float64) float64 {
	if !r.on {
		return 0
	}
	a := 1.0
	if !r.allAround {
		d := ct*r.cosC + st*r.sinC
		if d <= r.cosHW {
			return 0
		}
		a = smoothstep(2 * (d - r.cosHW) / (1 - r.cosHW))
	}
	return a * smoothstep((u-r.u0)/r.edge) * smoothstep((r.u1-u)/r.edge)
}

// rvModel is the right ventricle: an ellipsoid offset from the LV axis toward
// the septum, truncated at the base plane, minus the LV (so its cavity is a
// crescent wrapped around the septum), with a thin free wall.
type rvModel struct {
	cx, cy     float64 // centre in the short-axis plane (mm)
	cosA, sinA float64 // direction of the a semi-axis
	a, b       float64 // short-axis semi-axes at ED (mm)
	c, l       float64 // centre and semi-axis along the ED long axis w0 (mm)
	wall       float64 // free-wall thickness (mm)
	fr         float64 // radial shortening at end-systole
}

// atrium is an ellipsoid above the base plane whose floor follows the
// moving base (the mitral or tricuspid annulus) while its roof stays fixed.
type atrium struct {
	cx, cy float64 // centre in the short-axis plane
	a, b   float64 // short-axis semi-axes
	top    float64 // roof height above the ED base plane (mm, positive)
}

// tube is a great vessel: a cylinder of the given radius from start (heart
// coordinates, w relative to the moving base) along dir for length mm.
type tube struct {
	start  Vec3
	dir    Vec3
	length float64
	radius float64
}

// heart is the analytic 3-D + t model of one subject's heart in heart
// coordinates (x anterior, y lateral in the short-axis plane; w along the LV
// long axis from the end-diastolic base plane toward the apex, in mm).
//
// The LV cavity is a truncated prolate ellipsoid, the myocardium the shell
// between it and a second, larger ellipsoid with the same centre. Longitudinal
// geometry is written in ED-normalised coordinates w0 ∈ [0, a0]: at phase φ the
// base plane sits at w = base(φ) and the endocardial apex at w = apex(φ), and
// w0 = (w − base)·a0/(apex − base).
type heart struct {
	rEndo, lEndo, cEndo, a0 float64 // ED endocardium: equatorial radius, long semi-axis, centre, cavity length
	invA0                   float64
	ellip, cos2e, sin2e     float64 // cross-section ellipticity ε·cos 2(θ−θe)
	wall, wallApex          float64 // ED wall thickness (mid-wall, apical cap)
	bulge                   float64 // HCM extra thickness at the bulge centre
	bulgeR                  region
	thin                    float64 // infarct thinning fraction of the wall
	inf                     region  // infarct: akinetic, thinned
	fr                      float64 // radial endocardial shortening at ES (non-infarcted wall)
	descent, apexMotion     float64 // base and apex excursion toward each other at ES (mm)
	twistB, twistA          float64 // rotation at ES of base and apex (rad)
	tES                     float64 // end-systole as a fraction of the RR interval
	rv                      rvModel
	la, ra                  atrium
	ao, pa                  tube
	effusion                float64 // pericardial fluid thickness (mm), 0 for none
	fatThin, fatBase        float64 // epicardial fat thickness on the ventricles and in the AV groove
	bound                   float64 // radius of a sphere about (0,0,centreW) holding every structure
	centreW                 float64
	vent, atr               cylinder // tighter bounds: ventricles with their layers; atria and vessels
}

// cylinder is a bound coaxial with the LV long axis: radius r, w in [w0, w1].
type cylinder struct{ r2, w0, w1 float64 }

func (c *cylinder) contains(x, y, w float64) bool {
	return w >= c.w0 && w <= c.w1 && x*x+y*y <= c.r2
}

// setBounds computes the bounding cylinders and sphere of every structure
// at every phase (the base only descends, the atria's roofs are fixed).
func (h *heart) setBounds() {
	layers := h.effusion + 1.5 + h.fatBase + 2
	rLV := h.rEndo*(1+math.Abs(h.ellip)) + h.wall*1.6 + h.bulge*1.6 + layers
	// farthest point of the RV epicardial ellipse from the LV axis
	rRV := 0.0
	ae, be := h.rv.a+h.rv.wall, h.rv.b+h.rv.wall
	for k := range 64 {
		t := 2 * math.Pi * float64(k) / 64
		pa, pb := ae*math.Cos(t), be*math.Sin(t)
		x := h.rv.cx + pa*h.rv.cosA - pb*h.rv.sinA
		y := h.rv.cy + pa*h.rv.sinA + pb*h.rv.cosA
		rRV = math.Max(rRV, math.Hypot(x, y))
	}
	rRV += 2 + layers
	rv := math.Max(rLV, rRV)
	h.vent = cylinder{r2: rv * rv, w0: -layers, w1: h.a0 + h.wallApex*1.6 + layers}
	ra := 0.0
	top := math.Max(h.la.top, h.ra.top)
	for _, at := range []atrium{h.la, h.ra} {
		ra = math.Max(ra, math.Hypot(at.cx, at.cy)+math.Max(at.a, at.b))
	}
	for _, tb := range []tube{h.ao, h.pa} {
		end := tb.start.Add(tb.dir.Scale(tb.length))
		ra = math.Max(ra, math.Max(math.Hypot(tb.start[0], tb.start[1]), math.Hypot(end[0], end[1]))+tb.radius)
		top = math.Max(top, -math.Min(tb.start[2], end[2])+tb.radius)
	}
	ra = math.Max(ra, rLV) + h.fatBase + 4
	h.atr = cylinder{r2: ra * ra, w0: -top - h.fatBase - 4, w1: h.descent + 1}
	// a sphere holding both, for the region of interest of a plane
	h.centreW = (h.vent.w1 + h.atr.w0) / 2
	hw := (h.vent.w1 - h.atr.w0) / 2
	h.bound = math.Sqrt(hw*hw + math.Max(rv, ra)*math.Max(rv, ra))
}

// contraction is the normalised LV contraction at time t (fraction of the RR
// interval): 0 at end-diastole (the R wave, t=0), 1 at end-systole, then
// rapid filling, diastasis and the atrial kick back to 0.
func contraction(t, tES float64) float64 {
	t -= math.Floor(t)
	tRF := math.Min(tES+0.22, 0.75) // end of rapid filling
	const tA = 0.82                 // atrial contraction starts
	switch {
	case t <= tES:
		return (1 - math.Cos(math.Pi*t/tES)) / 2
	case t <= tRF:
		v := (t - tES) / (tRF - tES)
		return 1 - 0.75*(1-math.Cos(math.Pi*v))/2
	case t <= tA:
		v := (t - tRF) / (tA - tRF)
		return 0.25 - 0.07*v
	default:
		v := (t - tA) / (1 - tA)
		return 0.18 * (1 + math.Cos(math.Pi*v)) / 2
	}
}

// frame is the heart's geometry at one instant, with everything the
// per-pixel classification needs precomputed.
type frame struct {
	h          *heart
	c          float64 // contraction
	base, apex float64 // w of the base plane and endocardial apex
	s, invS    float64 // longitudinal scale (apex−base)/a0 and its inverse
	kr, g      float64 // radial shortening, wall thickening factor
	twB, twA   float64 // twist at base and apex
	lep0       float64 // epicardial long semi-axis in w0 units
	rvk        float64 // RV short-axis scale
	laC, laL   float64 // LA centre and semi-axis along w
	raC, raL   float64
	maxR2      float64 // squared radius beyond which no LV layer exists
	outer      float64 // thickness of all layers outside the epicardium
	rimR       float64 // epicardial radius of the base rim
	annulus2   float64 // squared inner radius of the mitral annulus ring
}

func (h *heart) frameAt(t float64) *frame {
	c := contraction(t, h.tES)
	f := &frame{h: h, c: c}
	f.base = c * h.descent
	f.apex = h.a0 - c*h.apexMotion
	f.s = (f.apex - f.base) / h.a0
	f.invS = 1 / f.s
	f.kr = c * h.fr
	// Wall thickening from conservation of mid-ventricular myocardial
	// cross-section area, corrected for longitudinal shortening.
	rNom := h.rEndo * (1 - f.kr)
	a0 := (h.rEndo+h.wall)*(h.rEndo+h.wall) - h.rEndo*h.rEndo
	f.g = (math.Sqrt(rNom*rNom+a0*f.invS) - rNom) / h.wall
	f.lep0 = h.lEndo + h.wallApex*f.g*f.invS
	f.twB, f.twA = c*h.twistB, c*h.twistA
	f.rvk = 1 - c*h.rv.fr
	// Atria: roof fixed, floor on the moving base, 30 % of the ellipsoid
	// below the annulus cut away.
	f.laL = (f.base + h.la.top) / 1.3
	f.laC = f.base - 0.3*f.laL
	f.raL = (f.base + h.ra.top) / 1.3
	f.raC = f.base - 0.3*f.raL
	f.outer = h.effusion + 1.5 + h.fatBase
	rmax := h.rEndo*(1+math.Abs(h.ellip)) + h.wall*f.g*1.05 + h.bulge*f.g + f.outer + 1
	f.maxR2 = rmax * rmax
	R, T, _ := f.lvShape(1, 0, 0)
	tq := h.cEndo / f.lep0
	f.rimR = (R + T) * math.Sqrt(max(0, 1-tq*tq))
	te := h.cEndo / h.lEndo
	ra := 0.85 * R * math.Sqrt(max(0, 1-te*te))
	f.annulus2 = ra * ra
	return f
}

// lvShape returns, at tissue angle (cth, sth) and ED-normalised long-axis
// position w0, the endocardial equatorial radius R (the cavity radius at w0
// is R·sqrt(1−((w0−c)/l)²)), the wall thickness T, and the infarct weight.
func (f *frame) lvShape(cth, sth, w0 float64) (R, T, m float64) {
	h := f.h
	u := clamp(w0*h.invA0, 0, 1)
	m = h.inf.weight(cth, sth, u)
	e := 1 + h.ellip*((cth*cth-sth*sth)*h.cos2e+2*cth*sth*h.sin2e)
	R = h.rEndo * e * (1 - f.kr*(1-m))
	T = h.wall*(1-h.thin*m) + h.bulge*h.bulgeR.weight(cth, sth, u)
	T *= 1 + (f.g-1)*(1-m)
	return
}

// twist returns cos and sin of the myocardial rotation at w0.
func (f *frame) twist(w0 float64) (float64, float64) {
	u := clamp(w0*f.h.invA0, 0, 1)
	return cosSinSmall(f.twB + (f.twA-f.twB)*u)
}

// pseudoDist converts an ellipsoidal level λ (1 on the surface) into an
// approximate distance outside a surface of the given characteristic radius;
// beyond reach it returns +Inf without a square root.
func pseudoDist(lambda, radius, reach float64) float64 {
	if lambda <= 1 {
		return 0
	}
	if k := 1 + reach/radius; lambda >= k*k {
		return math.Inf(1)
	}
	return (math.Sqrt(lambda) - 1) * radius
}

// classify returns the heart tissue at heart coordinates (x, y, w), or tNone.
func (f *frame) classify(x, y, w float64) tissue {
	h := f.h
	r2 := x*x + y*y
	dVent := math.Inf(1) // pseudo-distance outside the ventricles' epicardium
	if w >= f.base {
		w0 := (w - f.base) * f.invS
		t := w0 - h.cEndo
		// LV
		if r2 < f.maxR2 {
			r := math.Sqrt(r2)
			ct, st := 1.0, 0.0
			if r > 1e-9 {
				ct, st = x/r, y/r
			}
			cT, sT := f.twist(w0)
			cth := ct*cT + st*sT
			sth := st*cT - ct*sT
			R, T, m := f.lvShape(cth, sth, w0)
			te := t / h.lEndo
			if q := 1 - te*te; q > 0 && r2 < R*R*q {
				return tBlood
			}
			Rep := R + T
			tp := t / f.lep0
			lam := r2/(Rep*Rep) + tp*tp
			if lam < 1 {
				if m > 0.5 {
					return tScar
				}
				return tMyo
			}
			// characteristic radius: radial near the equator, long axis near the apex
			ax := tp * tp / lam
			dVent = pseudoDist(lam, Rep*(1-ax)+f.lep0*f.s*ax, f.outer)
		}
		// RV
		rv := &h.rv
		dx, dy := x-rv.cx, y-rv.cy
		pa := dx*rv.cosA + dy*rv.sinA
		pb := -dx*rv.sinA + dy*rv.cosA
		A, B := rv.a*f.rvk, rv.b*f.rvk
		tz := (w0 - rv.c) / rv.l
		if pa*pa/(A*A)+pb*pb/(B*B)+tz*tz < 1 {
			return tBlood
		}
		Ae, Be, Le := A+rv.wall, B+rv.wall, rv.l+rv.wall*f.invS
		tz = (w0 - rv.c) / Le
		lam := pa*pa/(Ae*Ae) + pb*pb/(Be*Be) + tz*tz
		if lam < 1 {
			return tMyo
		}
		dVent = min(dVent, pseudoDist(lam, 0.5*(Ae+Be), f.outer))
	} else {
		// Above the base: the fibrous mitral annulus (a dark ring that marks
		// the valve plane on long-axis views), then atria and great vessels.
		if lift := f.base - w; lift < 3 && r2 < f.rimR*f.rimR && r2 > f.annulus2 {
			return tMyo
		}
		la := &h.la
		dx, dy, dz := x-la.cx, y-la.cy, (w-f.laC)/f.laL
		lamLA := dx*dx/(la.a*la.a) + dy*dy/(la.b*la.b) + dz*dz
		if lamLA < 1 {
			return tBlood
		}
		ra := &h.ra
		dx, dy, dz = x-ra.cx, y-ra.cy, (w-f.raC)/f.raL
		lamRA := dx*dx/(ra.a*ra.a) + dy*dy/(ra.b*ra.b) + dz*dz
		if lamRA < 1 {
			return tBlood
		}
		dAo := h.ao.dist(x, y, w-f.base, h.fatBase)
		if dAo < 0 {
			return tBlood
		}
		dPA := h.pa.dist(x, y, w-f.base, h.fatBase)
		if dPA < 0 {
			return tBlood
		}
		d := min(pseudoDist(lamLA, la.a, h.fatBase), pseudoDist(lamRA, ra.a, h.fatBase), dAo, dPA)
		if d < h.fatBase {
			return tFat
		}
		// The ventricles' outer layers continue a little above the base rim;
		// inside the rim, what is not atrium or vessel is AV-groove fat.
		lift := f.base - w
		r := math.Sqrt(r2)
		rb := f.rimR
		if r < rb {
			if lift < h.fatBase+4 {
				return tFat
			}
			return tNone
		}
		dVent = max(r-rb, lift)
	}
	if dVent == math.Inf(1) {
		return tNone
	}
	if h.effusion > 0 {
		if dVent < h.effusion {
			return tFluid
		}
		if dVent < h.effusion+1.5 {
			return tPericardium
		}
		dVent -= h.effusion + 1.5
	}
	fat := h.fatThin + (h.fatBase-h.fatThin)*smoothstep(1-(w-f.base)/25)
	if dVent < fat {
		return tFat
	}
	return tNone
}

// dist returns the signed distance from (x, y, z) to the tube's surface
// (negative inside), or +Inf when it exceeds reach; z is measured from the
// base plane.
func (tb *tube) dist(x, y, z, reach float64) float64 {
	vx, vy, vz := x-tb.start[0], y-tb.start[1], z-tb.start[2]
	s := vx*tb.dir[0] + vy*tb.dir[1] + vz*tb.dir[2]
	s = min(max(s, 0), tb.length)
	dx, dy, dz := vx-s*tb.dir[0], vy-s*tb.dir[1], vz-s*tb.dir[2]
	d2 := dx*dx + dy*dy + dz*dz
	if r := tb.radius + reach; d2 >= r*r {
		return math.Inf(1)
	}
	return math.Sqrt(d2) - tb.radius
}
