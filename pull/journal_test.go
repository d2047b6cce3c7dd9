package pull

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJournalReplay: the journal replays to the state its lines describe; a
// line cut short by a crash is ignored, and a path that would leave the
// pull directory is never taken.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		`{"op":"pull","dir":"st-0badc0de"}`,
		`{"op":"study","study":"1.2.3","dir":"st-0badc0de-0001"}`,
		`{"op":"series","study":"1.2.3","series":"1.2.3.1","dir":"0001_cine"}`,
		`{"op":"file","study":"1.2.3","series":"1.2.3.1","sop":"1.2.3.1.1","path":"0001_cine/0001.dcm","size":10}`,
		`{"op":"file","study":"1.2.3","series":"1.2.3.1","sop":"1.2.3.1.2","path":"0001_cine/0002.dcm","size":11}`,
		`{"op":"file","study":"1.2.3","series":"1.2.3.1","sop":"1.2.3.1.3","path":"../../etc/passwd","size":11}`,
		`{"op":"drop","study":"1.2.3","sop":"1.2.3.1.1"}`,
		`{"op":"study","study":"4.5.6","dir":"../outside"}`,
		`{"op":"study","study":"7.8.9","dir":"st-0badc0de-0002"}`,
		`{"op":"complete","study":"7.8.9"}`,
		`{"op":"ingested","study":"7.8.9"}`,
		`{"op":"file","study":"1.2.3","series":"1.2.3.1","sop":"1.2.3.1.4","pa`, // torn by a crash
	}
	if err := os.WriteFile(filepath.Join(dir, JournalName), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if j.id != "st-0badc0de" {
		t.Errorf("id %q", j.id)
	}
	files := j.files("1.2.3")
	if len(files) != 1 || files[0].SOP != "1.2.3.1.2" || files[0].Size != 11 {
		t.Errorf("files %+v", files)
	}
	if _, c, _ := j.status("1.2.3"); c {
		t.Error("1.2.3 complete")
	}
	if known, _, _ := j.status("4.5.6"); known {
		t.Error("a study with a folder outside the pull directory was taken")
	}
	if _, c, ing := j.status("7.8.9"); !c || !ing {
		t.Error("7.8.9 not complete and ingested")
	}
	if d, _ := j.assignDir("10.11.12"); d != "st-0badc0de-0003" {
		t.Errorf("next folder %q", d)
	}
	j.close()
	// The appended line survives a reopen after the torn one.
	j, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if known, _, _ := j.status("10.11.12"); !known {
		t.Error("a line appended after a torn line was lost")
	}
}
