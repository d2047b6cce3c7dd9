package phantom

import (
	"fmt"
	"math"

	"github.com/cmrfm/cmrfm/cine"
)

// Plane is an image plane in patient coordinates, described as DICOM's
// Image Plane module describes it (PS3.3 C.7.6.2).
type Plane struct {
	// Position is ImagePositionPatient: the centre of the first pixel.
	Position Vec3
	// Row and Col are ImageOrientationPatient: the unit directions of
	// increasing column index along a row, and of increasing row index.
	Row, Col Vec3
	// Spacing is PixelSpacing: [between rows, between columns] in mm.
	Spacing    [2]float64
	Rows, Cols int
	// Thickness is SliceThickness in mm.
	Thickness float64
}

// Normal returns Row × Col, the plane's normal.
func (p Plane) Normal() Vec3 { return p.Row.Cross(p.Col) }

// Pixel returns the patient position of the centre of pixel (row, col).
func (p Plane) Pixel(row, col float64) Vec3 {
	return p.Position.Add(p.Row.Scale(col * p.Spacing[1])).Add(p.Col.Scale(row * p.Spacing[0]))
}

// Centre returns the patient position of the image centre.
func (p Plane) Centre() Vec3 { return p.Pixel(float64(p.Rows-1)/2, float64(p.Cols-1)/2) }

// planeAt builds a plane of rows×cols square pixels of the given spacing
// centred at centre with normal n. The in-plane axes are chosen as scanners
// choose them, from the standard orientation (axial, coronal, sagittal)
// nearest to the plane, then rotated about the normal by rotDeg.
func planeAt(centre, n Vec3, rows, cols int, spacing, rotDeg float64) Plane {
	n = n.Unit()
	var rowRef, colRef Vec3
	ax, ay, az := math.Abs(n[0]), math.Abs(n[1]), math.Abs(n[2])
	switch {
	case az >= ax && az >= ay: // axial-like
		rowRef, colRef = Vec3{1, 0, 0}, Vec3{0, 1, 0}
	case ay >= ax: // coronal-like
		rowRef, colRef = Vec3{1, 0, 0}, Vec3{0, 0, -1}
	default: // sagittal-like
		rowRef, colRef = Vec3{0, 1, 0}, Vec3{0, 0, -1}
	}
	row := rowRef.Sub(n.Scale(rowRef.Dot(n))).Unit()
	col := colRef.Sub(n.Scale(colRef.Dot(n))).Sub(row.Scale(colRef.Dot(row))).Unit()
	nn := row.Cross(col)
	if rotDeg != 0 {
		a := rotDeg * math.Pi / 180
		row, col = rotateAbout(row, nn, a), rotateAbout(col, nn, a)
	}
	p := Plane{Row: row, Col: col, Spacing: [2]float64{spacing, spacing}, Rows: rows, Cols: cols}
	p.Position = centre.Sub(row.Scale(float64(cols-1) / 2 * spacing)).Sub(col.Scale(float64(rows-1) / 2 * spacing))
	return p
}

// Planning chooses the matrix and field of view of planned cine planes.
// The zero value gives 128×128 pixels over 340 mm, no rotation.
type Planning struct {
	Rows, Cols int     // matrix (0 means 128)
	FOV        float64 // field of view along the rows, mm (0 means 340)
	RotateDeg  float64 // in-plane rotation about the normal
	Thickness  float64 // slice thickness (0 means the slice spacing for SAX, 8 mm for LAX)
	// OffsetMM shifts the plane centre within the plane (scanner centring error).
	OffsetMM [2]float64
	// ApexToBase orders the SAX stack from apex to base instead of base to apex.
	ApexToBase bool
	// ExtraApical adds slices beyond the apex (clamped so the stack has 8–12
	// slices when the cavity allows).
	ExtraApical int
}

func (pl Planning) defaults() Planning {
	if pl.Rows == 0 {
		pl.Rows = 128
	}
	if pl.Cols == 0 {
		pl.Cols = pl.Rows
	}
	if pl.FOV == 0 {
		pl.FOV = 340
	}
	return pl
}

// SAXSliceCount returns the number of SAX slices the subject's stack has:
// enough slabs of the subject's slice spacing to cover the ED cavity from the
// base plane to the apex, plus one beyond the apex, and at least 8.
func (s *Subject) SAXSliceCount(extraApical int) int {
	n := int(math.Ceil(s.h.a0/s.SliceSpacing-1e-9)) + 1 + extraApical
	return max(n, 8)
}

// PlanSAX returns the short-axis stack, perpendicular to the LV long axis.
// Slab k spans [k·Δ, (k+1)·Δ] below the ED base plane (Δ the slice spacing)
// and its image plane is the slab's mid-plane, so Σ area·Δ over the slices is
// the midpoint rule for the cavity volume.
func (s *Subject) PlanSAX(pl Planning) []Plane {
	pl = pl.defaults()
	n := s.SAXSliceCount(pl.ExtraApical)
	th := pl.Thickness
	if th == 0 {
		th = s.SliceSpacing
	}
	spacing := pl.FOV / float64(pl.Cols)
	out := make([]Plane, n)
	for k := range n {
		w := (float64(k) + 0.5) * s.SliceSpacing
		c := s.fromHeart(Vec3{pl.OffsetMM[0], pl.OffsetMM[1], w})
		// Operators rotate SAX planes to the display convention: anterior
		// wall up, septum on the left, lateral wall on the right.
		p := Plane{Row: s.ey, Col: s.ex.Scale(-1), Spacing: [2]float64{spacing, spacing}, Rows: pl.Rows, Cols: pl.Cols}
		if pl.RotateDeg != 0 {
			a := pl.RotateDeg * math.Pi / 180
			p.Row, p.Col = rotateAbout(p.Row, s.ew, a), rotateAbout(p.Col, s.ew, a)
		}
		p.Position = c.Sub(p.Row.Scale(float64(pl.Cols-1) / 2 * spacing)).Sub(p.Col.Scale(float64(pl.Rows-1) / 2 * spacing))
		p.Thickness = th
		out[k] = p
	}
	if pl.ApexToBase {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// PlanLAX returns the long-axis plane of view (4CH, 3CH or 2CH): a plane
// containing the LV long axis, through the RV (4CH), the LV outflow and
// aortic root (3CH), or the anterior and inferior walls (2CH).
func (s *Subject) PlanLAX(view cine.View, pl Planning) (Plane, error) {
	pl = pl.defaults()
	var deg float64
	switch view {
	case cine.View4CH:
		deg = s.theta4CH
	case cine.View3CH:
		deg = s.theta3CH
	case cine.View2CH:
		deg = s.theta2CH
	default:
		return Plane{}, fmt.Errorf("phantom: no long-axis plane for view %q", view)
	}
	d := s.dirAt(deg)
	n := s.ew.Cross(d)
	h := s.h
	w := (h.a0 + h.wallApex - math.Max(h.la.top, h.ra.top)) / 2
	centre := s.fromHeart(Vec3{0, 0, w}).Add(d.Scale(pl.OffsetMM[0])).Add(s.ew.Scale(pl.OffsetMM[1]))
	p := planeAt(centre, n, pl.Rows, pl.Cols, pl.FOV/float64(pl.Cols), pl.RotateDeg)
	p.Thickness = pl.Thickness
	if p.Thickness == 0 {
		p.Thickness = 8
	}
	return p, nil
}

// planScout returns the three orthogonal localizer planes (axial, coronal,
// sagittal, nSlices each) through the heart centre.
func (s *Subject) planScout(matrix int, fov, spacing float64, nSlices int) []Plane {
	c := s.fromHeart(Vec3{0, 0, s.h.centreW})
	var out []Plane
	for _, o := range [3][2]Vec3{
		{{0, 1, 0}, {0, 0, -1}}, // sagittal
		{{1, 0, 0}, {0, 0, -1}}, // coronal
		{{1, 0, 0}, {0, 1, 0}},  // axial
	} {
		n := o[0].Cross(o[1])
		for k := range nSlices {
			cc := c.Add(n.Scale((float64(k) - float64(nSlices-1)/2) * spacing))
			p := Plane{Row: o[0], Col: o[1], Spacing: [2]float64{fov / float64(matrix), fov / float64(matrix)},
				Rows: matrix, Cols: matrix, Thickness: 8}
			p.Position = cc.Sub(p.Row.Scale(float64(matrix-1) / 2 * p.Spacing[1])).Sub(p.Col.Scale(float64(matrix-1) / 2 * p.Spacing[0]))
			out = append(out, p)
		}
	}
	return out
}
