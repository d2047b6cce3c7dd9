package phantom

import "math"

// body is the static anatomy around the heart in patient coordinates (LPS,
// mm): an elliptic torso with subcutaneous fat and chest-wall muscle, two
// lungs, spine and spinal canal, descending aorta, mediastinal fat, and below
// the diaphragm dome the liver (patient's right) and stomach/spleen (left).
type body struct {
	cx, cy     float64 // torso axis
	ax, ay     float64 // torso semi-axes
	subc, wall float64 // subcutaneous fat and muscle thickness
	medX       float64 // mediastinum centre line (x, torso coordinates)
	medTopZ    float64 // superior mediastinum starts above this height
	spineY     float64 // vertebral body centre (y), radius
	spineR     float64
	aortaX     float64 // descending aorta centre and radius
	aortaY     float64
	aortaR     float64
	domeZ      float64 // diaphragm dome apex height, centre and curvature
	domeX      float64
	domeY      float64
	domeK      float64
}

// at returns the body tissue at patient position p.
func (b *body) at(p Vec3) tissue {
	x, y := p[0]-b.cx, p[1]-b.cy
	if x*x/(b.ax*b.ax)+y*y/(b.ay*b.ay) > 1 {
		return tAir
	}
	ai, bi := b.ax-b.subc, b.ay-b.subc
	if x*x/(ai*ai)+y*y/(bi*bi) > 1 {
		return tFat
	}
	ai, bi = ai-b.wall, bi-b.wall
	if x*x/(ai*ai)+y*y/(bi*bi) > 1 {
		return tMuscle
	}
	// spinal canal, vertebral body and paraspinal muscles
	if dx, dy := x, y-(b.spineY+b.spineR+9); dx*dx+dy*dy < 64 {
		return tCSF
	}
	if dx, dy := x, y-b.spineY; dx*dx+dy*dy < b.spineR*b.spineR {
		return tMarrow
	}
	for _, sx := range [2]float64{-38, 38} {
		if dx, dy := (x-sx)/30, (y-b.spineY-18)/26; dx*dx+dy*dy < 1 {
			return tMuscle
		}
	}
	if dx, dy := x-b.aortaX, y-b.aortaY; dx*dx+dy*dy < b.aortaR*b.aortaR {
		return tBlood
	}
	dx, dy := x-b.domeX, y-b.domeY
	if p[2] < b.domeZ-b.domeK*(dx*dx+dy*dy) {
		// liver under the right dome, stomach and spleen under the left
		if lx, ly := (x-b.domeX+60)/(0.75*b.ax), (y+10)/(0.9*b.ay); lx*lx+ly*ly < 1 {
			return tLiver
		}
		return tBowel
	}
	// Mediastinum: a strip behind the sternum, the tissue around the
	// oesophagus in front of the spine, and above the heart the great-vessel
	// region; everything else inside the chest wall is lung (the heart,
	// drawn over the body, displaces it).
	if y < b.spineY-b.spineR && math.Abs(x-b.medX) < 10+0.05*(b.spineY-y) && y < -b.ay+b.subc+b.wall+25 {
		return tMediastinum
	}
	if math.Abs(x-4) < 24 && y > b.spineY-b.spineR-30 {
		return tMediastinum
	}
	if p[2] > b.medTopZ && math.Abs(x-b.medX) < 38 {
		return tMediastinum
	}
	return tLung
}
