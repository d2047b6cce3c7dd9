package phantom

import "math"

// Ground truth is computed from the analytic model, never from pixels: the
// cavity is star-shaped about the long axis in every short-axis plane, so its
// volume is the double integral V = ∫ dw ∫ dθ ½ρ(θ,w)², evaluated by
// quadrature of the same ρ the renderer tests each pixel against.

// quad sizes: fine for labels, coarse for the per-frame volume curve.
const (
	quadThetaFine, quadWFine     = 256, 256
	quadThetaCoarse, quadWCoarse = 96, 96
)

// circle returns cos and sin of n equispaced angles on [0, 2π).
func circle(n int) (cs, sn []float64) {
	cs, sn = make([]float64, n), make([]float64, n)
	for j := range n {
		cs[j], sn[j] = math.Cos(2*math.Pi*float64(j)/float64(n)), math.Sin(2*math.Pi*float64(j)/float64(n))
	}
	return
}

// simpsonWeights returns n+1 composite-Simpson weights on [a, b] (n even).
func simpsonWeights(a, b float64, n int) (x, wt []float64) {
	h := (b - a) / float64(n)
	x = make([]float64, n+1)
	wt = make([]float64, n+1)
	for i := 0; i <= n; i++ {
		x[i] = a + float64(i)*h
		switch {
		case i == 0 || i == n:
			wt[i] = h / 3
		case i%2 == 1:
			wt[i] = 4 * h / 3
		default:
			wt[i] = 2 * h / 3
		}
	}
	return
}

// lvMoments returns, for the ED-normalised cavity, the three integrals
//
//	P_k = ∫∫ ½·(R_ED(θ)·e(θ))²·(1−m)^k·q(w0) dθ dw0,  k = 0, 1, 2
//
// in which the cavity volume at a phase with radial shortening kr and
// longitudinal scale s is s·(P0 − 2kr·P1 + kr²·P2).
func (h *heart) lvMoments(nTheta, nW int) (p0, p1, p2 float64) {
	f := h.frameAt(0) // kr = 0: R is the ED radius
	xs, ws := simpsonWeights(0, h.a0, nW)
	dth := 2 * math.Pi / float64(nTheta)
	cs, sn := circle(nTheta)
	for i, w0 := range xs {
		te := (w0 - h.cEndo) / h.lEndo
		q := 1 - te*te
		if q <= 0 {
			continue
		}
		var s0, s1, s2 float64
		for j := 0; j < nTheta; j++ {
			R, _, m := f.lvShape(cs[j], sn[j], w0)
			a := 0.5 * R * R * q
			s0 += a
			s1 += a * (1 - m)
			s2 += a * (1 - m) * (1 - m)
		}
		p0 += ws[i] * s0 * dth
		p1 += ws[i] * s1 * dth
		p2 += ws[i] * s2 * dth
	}
	return
}

// lvVolume returns the LV cavity volume (mm³) at frame f.
func (f *frame) lvVolume(nTheta, nW int) float64 {
	h := f.h
	xs, ws := simpsonWeights(0, h.a0, nW)
	dth := 2 * math.Pi / float64(nTheta)
	cs, sn := circle(nTheta)
	var v float64
	for i, w0 := range xs {
		te := (w0 - h.cEndo) / h.lEndo
		q := 1 - te*te
		if q <= 0 {
			continue
		}
		var sum float64
		for j := 0; j < nTheta; j++ {
			R, _, _ := f.lvShape(cs[j], sn[j], w0)
			sum += 0.5 * R * R * q
		}
		v += ws[i] * sum * dth
	}
	return v * f.s
}

// lvMyoVolume returns the LV myocardial volume (mm³) at frame f.
func (f *frame) lvMyoVolume(nTheta, nW int) float64 {
	h := f.h
	top := h.cEndo + f.lep0
	xs, ws := simpsonWeights(0, top, nW)
	dth := 2 * math.Pi / float64(nTheta)
	cs, sn := circle(nTheta)
	var v float64
	for i, w0 := range xs {
		te := (w0 - h.cEndo) / h.lEndo
		qe := math.Max(0, 1-te*te)
		if w0 > h.a0 {
			qe = 0
		}
		tp := (w0 - h.cEndo) / f.lep0
		qp := math.Max(0, 1-tp*tp)
		var sum float64
		for j := 0; j < nTheta; j++ {
			R, T, _ := f.lvShape(cs[j], sn[j], w0)
			sum += 0.5 * ((R+T)*(R+T)*qp - R*R*qe)
		}
		v += ws[i] * sum * dth
	}
	return v * f.s
}

// maxWallThickness returns the largest short-axis wall thickness (mm) at
// frame f between 5 % and 75 % of the base-to-apex distance, measured
// radially in the short-axis plane (as a reader measures it on a SAX slice).
func (f *frame) maxWallThickness() float64 {
	h := f.h
	best := 0.0
	cs, sn := circle(360)
	for iu := 0; iu <= 70; iu++ {
		w0 := (0.05 + 0.7*float64(iu)/70) * h.a0
		te := (w0 - h.cEndo) / h.lEndo
		tp := (w0 - h.cEndo) / f.lep0
		qe := math.Sqrt(math.Max(0, 1-te*te))
		qp := math.Sqrt(math.Max(0, 1-tp*tp))
		for j := range cs {
			R, T, _ := f.lvShape(cs[j], sn[j], w0)
			if d := (R+T)*qp - R*qe; d > best {
				best = d
			}
		}
	}
	return best
}

// rvVolume returns the RV cavity volume (mm³) at frame f: the part of the
// RV ellipsoid outside the LV epicardium, integrated along rays from the LV
// axis (the RV cross-section is convex and the LV star-shaped about the axis,
// so along each ray the cavity is one interval).
func (f *frame) rvVolume(nTheta, nW int) float64 {
	h := f.h
	rv := &h.rv
	top := rv.c + rv.l
	xs, ws := simpsonWeights(0, top, nW)
	dth := 2 * math.Pi / float64(nTheta)
	cs, sn := circle(nTheta)
	var v float64
	for i, w0 := range xs {
		tz := (w0 - rv.c) / rv.l
		qz := 1 - tz*tz
		if qz <= 0 {
			continue
		}
		qz = math.Sqrt(qz)
		A, B := rv.a*f.rvk*qz, rv.b*f.rvk*qz
		ia2, ib2 := 1/(A*A), 1/(B*B)
		oa := -rv.cx*rv.cosA - rv.cy*rv.sinA
		ob := rv.cx*rv.sinA - rv.cy*rv.cosA
		cT, sT := f.twist(w0)
		tp := (w0 - h.cEndo) / f.lep0
		qp := math.Sqrt(math.Max(0, 1-tp*tp))
		var sum float64
		for j := 0; j < nTheta; j++ {
			ct, st := cs[j], sn[j]
			da := ct*rv.cosA + st*rv.sinA
			db := -ct*rv.sinA + st*rv.cosA
			qa := da*da*ia2 + db*db*ib2
			qb := 2 * (oa*da*ia2 + ob*db*ib2)
			qc := oa*oa*ia2 + ob*ob*ib2 - 1
			disc := qb*qb - 4*qa*qc
			if disc <= 0 {
				continue
			}
			sd := math.Sqrt(disc)
			r1, r2 := (-qb-sd)/(2*qa), (-qb+sd)/(2*qa)
			if r2 <= 0 {
				continue
			}
			R, T, _ := f.lvShape(ct*cT+st*sT, st*cT-ct*sT, w0)
			rin := math.Max(math.Max(r1, 0), (R+T)*qp)
			if r2 > rin {
				sum += 0.5 * (r2*r2 - rin*rin)
			}
		}
		v += ws[i] * sum * dth
	}
	return v * f.s
}
