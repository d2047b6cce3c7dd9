package dicom

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strings"

	duid "github.com/suyashkumar/dicom/pkg/uid"
)

// phiTags are attributes that identify a patient or visit: DumpTags and
// WriteSummary print them only when asked (the "--phi" switch).
var phiTags = map[Tag]bool{
	0x00080020: true, 0x00080021: true, 0x00080022: true, 0x00080023: true, 0x0008002A: true, // dates
	0x00080030: true, 0x00080031: true, 0x00080032: true, 0x00080033: true, // times
	0x00080050: true, 0x00080080: true, 0x00080081: true, 0x00080090: true, 0x00080092: true,
	0x00080094: true, 0x00081010: true, 0x00081040: true, 0x00081048: true, 0x00081050: true,
	0x00081060: true, 0x00081070: true, 0x00181000: true, 0x00200010: true, 0x00321032: true,
	0x00400244: true, 0x00400245: true, 0x00400253: true, 0x00400254: true,
}

// isPHI reports whether t identifies a person or visit: every Patient
// (0010,xxxx) attribute, the listed dates/names/IDs, and private tags.
func isPHI(t Tag) bool {
	return t.Group() == 0x0010 || phiTags[t] || t.Group()%2 == 1
}

// isUID reports whether t holds an instance UID (study, series, SOP, frame
// of reference): printed as a salted-free short hash without --phi, so
// files can still be compared.
func isUIDTag(t Tag, vr string) bool {
	return vr == "UI" && t != TagTransferSyntaxUID && t != TagSOPClassUID && t != 0x00020002 && t != 0x00020012
}

// redactUID returns a short stable digest of a UID ("uid:1a2b3c4d").
func redactUID(u string) string {
	if u == "" {
		return ""
	}
	s := sha256.Sum256([]byte(u))
	return "uid:" + hex.EncodeToString(s[:4])
}

// SummaryOptions controls WriteSummary.
type SummaryOptions struct {
	// PHI prints patient-identifying values (names, IDs, dates, UIDs)
	// instead of redacting them.
	PHI bool
	// Decode decodes the pixel data to report its status and value range.
	Decode DecodeOptions
	// NoDecode skips decoding.
	NoDecode bool
}

// WriteSummary writes a human-readable header summary of f: transfer
// syntax and decoder, image pixel module, rescale, series identity, plane
// geometry with a view hint, timing and (unless NoDecode) the decode status.
func (f *File) WriteSummary(w io.Writer, opt SummaryOptions) error {
	ds := f.DataSet
	uid := func(u string) string {
		if opt.PHI {
			return u
		}
		return redactUID(u)
	}
	pr := func(k, format string, a ...any) {
		fmt.Fprintf(w, "%-22s "+format+"\n", append([]any{k + ":"}, a...)...)
	}
	pr("file", "%s (%d bytes)", f.Path, f.Size)
	ts := f.TransferSyntax
	support := "decoded natively"
	if ts.Encapsulated {
		if DefaultDecoders().Supports(ts.UID) {
			support = "built-in decoder"
		} else {
			support = "NO built-in decoder (GDCM fallback only)"
		}
	}
	pr("transfer syntax", "%s %s — %s", ts.UID, ts.Name, support)
	sop := ds.String(TagSOPClassUID)
	if info, err := duid.Lookup(sop); err == nil {
		sop += " " + info.Name
	}
	pr("SOP class", "%s", sop)
	pr("modality", "%s  manufacturer: %s %s", ds.String(TagModality), ds.String(TagManufacturer), ds.String(TagManufacturerModel))
	pr("image type", "%s", strings.Join(ds.Strings(TagImageType), `\`))
	p, perr := pixelInfo(ds)
	if perr != nil {
		pr("pixel module", "ERROR %v", perr)
	} else {
		sign := "unsigned"
		if p.Signed {
			sign = "signed"
		}
		planar := ""
		if p.Samples > 1 {
			planar = fmt.Sprintf(", planar configuration %v", map[bool]int{false: 0, true: 1}[p.Planar])
		}
		pr("pixels", "%d rows × %d columns × %d frame(s), %d sample(s)/pixel%s", p.Rows, p.Cols, p.Frames, p.Samples, planar)
		pr("bits", "allocated %d, stored %d, high bit %d, %s", p.BitsAllocated, p.BitsStored, p.HighBit, sign)
		pr("photometric", "%s", p.Photometric)
	}
	rs := rescales(ds, 1)[0]
	pr("rescale", "slope %g, intercept %g %s", rs.Slope, rs.Intercept, ds.String(0x00281054))
	if c, ok := ds.Floats(TagWindowCenter); ok {
		wd, _ := ds.Floats(TagWindowWidth)
		pr("window", "center %v width %v", c, wd)
	}
	pr("study", "%s", uid(ds.String(TagStudyInstanceUID)))
	pr("series", "number %q, description %q, %s", ds.String(TagSeriesNumber), ds.String(TagSeriesDescription), uid(ds.String(TagSeriesInstanceUID)))
	in, _ := ds.Int(TagInstanceNumber)
	pr("instance", "number %d, %s", in, uid(ds.String(TagSOPInstanceUID)))
	if per := ds.Seq(TagPerFrameFunctionalGroups); len(per) > 0 && len(per[0].Elements) > 0 {
		pr("enhanced", "%d per-frame functional group item(s)", len(per))
	}
	if ims, err := f.Images(); err == nil && len(ims) > 0 {
		im := ims[0]
		if im.HasPosition {
			pr("position (LPS mm)", "%.3f %.3f %.3f", im.Position[0], im.Position[1], im.Position[2])
		}
		if n, ok := im.Normal(); ok {
			pr("orientation", "row %.4f %.4f %.4f, column %.4f %.4f %.4f", im.Orientation[0], im.Orientation[1], im.Orientation[2], im.Orientation[3], im.Orientation[4], im.Orientation[5])
			pr("view hint", "%s", viewHint(n))
		}
		if im.HasPixelSpacing {
			th, _ := ds.Float(TagSliceThickness)
			pr("spacing", "%.4f × %.4f mm, slice thickness %g mm", im.PixelSpacing[0], im.PixelSpacing[1], th)
		}
		if im.HasSliceLoc {
			pr("slice location", "%g mm", im.SliceLocation)
		}
		timing := "none"
		if im.HasTriggerTime {
			timing = fmt.Sprintf("trigger time %g ms", im.TriggerTime)
			if len(ims) > 1 && ims[len(ims)-1].HasTriggerTime {
				timing += fmt.Sprintf(" … %g ms (frame %d)", ims[len(ims)-1].TriggerTime, len(ims)-1)
			}
		}
		if im.CardiacImages > 0 {
			timing += fmt.Sprintf(", CardiacNumberOfImages %d", im.CardiacImages)
		}
		pr("timing", "%s", timing)
	}
	if opt.PHI {
		pr("patient", "name %q, ID %q, birth date %q, accession %q, study date %q",
			ds.String(TagPatientName), ds.String(TagPatientID), ds.String(TagPatientBirthDate), ds.String(TagAccessionNumber), ds.String(TagStudyDate))
	} else {
		pr("patient", "(redacted; --phi shows names, IDs, dates and UIDs)")
	}
	if !opt.NoDecode && perr == nil {
		px, err := f.Decode(opt.Decode)
		if err != nil {
			pr("decode", "FAILED: %v", err)
		} else {
			lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
			for _, v := range px.Data {
				lo, hi = min(lo, v), max(hi, v)
			}
			pr("decode", "ok: %s %v, stored values %d … %d", px.DType(), px.Shape(), lo, hi)
		}
	}
	return nil
}

// viewHint classifies a plane by its normal: the angle to the nominal left
// ventricular long axis, and the nearest patient plane.
func viewHint(n [3]float64) string {
	a := math.Abs(n[0]-n[1]-n[2]) / math.Sqrt(3)
	ang := math.Acos(math.Min(1, a)) * 180 / math.Pi
	plane := "axial"
	switch {
	case math.Abs(n[0]) >= math.Abs(n[1]) && math.Abs(n[0]) >= math.Abs(n[2]):
		plane = "sagittal"
	case math.Abs(n[1]) >= math.Abs(n[2]):
		plane = "coronal"
	}
	kind := "long-axis-like or not cardiac"
	if ang < 35 {
		kind = "short-axis-like"
	}
	return fmt.Sprintf("%s: normal %.0f° from the nominal LV long axis; nearest patient plane %s", kind, ang, plane)
}

// DumpTags writes every element of f (meta group first, sequences indented)
// with its keyword, VR, length and a value preview; patient-identifying
// values are redacted unless phi is set.
func (f *File) DumpTags(w io.Writer, phi bool) {
	dumpSet(w, f.Meta, 0, phi)
	dumpSet(w, f.DataSet, 0, phi)
}

func dumpSet(w io.Writer, ds *DataSet, depth int, phi bool) {
	if ds == nil {
		return
	}
	ind := strings.Repeat("  ", depth)
	for _, e := range ds.Elements {
		name := e.Tag.Keyword()
		if name == "" {
			name = "?"
		}
		switch {
		case e.Items != nil || e.VR == "SQ":
			fmt.Fprintf(w, "%s%s %-34s SQ %d item(s)\n", ind, e.Tag, name, len(e.Items))
			for i, it := range e.Items {
				fmt.Fprintf(w, "%s  item %d\n", ind, i+1)
				dumpSet(w, it, depth+2, phi)
			}
			continue
		case e.UndefinedLength && e.Tag == TagPixelData:
			fmt.Fprintf(w, "%s%s %-34s %s encapsulated: %d fragment(s), offset table %d bytes\n", ind, e.Tag, name, e.VR, len(e.Fragments), len(e.BOT))
			continue
		}
		fmt.Fprintf(w, "%s%s %-34s %s %6d  %s\n", ind, e.Tag, name, e.VR, len(e.Value), preview(ds, e, phi))
	}
}

func preview(ds *DataSet, e *Element, phi bool) string {
	switch {
	case !phi && isPHI(e.Tag) && len(e.Value) > 0:
		return "<redacted>"
	case !phi && isUIDTag(e.Tag, e.VR):
		return redactUID(ds.String(e.Tag))
	}
	switch e.VR {
	case "OB", "OW", "OF", "OD", "OL", "OV", "UN":
		return fmt.Sprintf("<%d bytes>", len(e.Value))
	case "US", "SS", "UL", "SL":
		v, _ := ds.Ints(e.Tag)
		return clip(fmt.Sprint(v))
	case "FL", "FD":
		v, _ := ds.Floats(e.Tag)
		return clip(fmt.Sprint(v))
	case "AT":
		return fmt.Sprintf("<%d tag(s)>", len(e.Value)/4)
	}
	return clip("[" + strings.Join(ds.Strings(e.Tag), `\`) + "]")
}

func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '.'
		}
		return r
	}, s)
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
