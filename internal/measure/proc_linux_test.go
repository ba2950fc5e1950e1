//go:build linux

package measure

import (
	"os"
	"regexp"
	"runtime"
	"testing"
	"time"
)

// ProcessCPU of this process lies between two SelfCPU readings around it
// (give or take the 10 ms tick /proc counts in).
func TestProcessCPU(t *testing.T) {
	spin(100 * time.Millisecond)
	a := SelfCPU()
	got, err := ProcessCPU(os.Getpid())
	b := SelfCPU()
	if err != nil {
		t.Fatal(err)
	}
	if got < a-20*time.Millisecond || got > b+20*time.Millisecond {
		t.Errorf("ProcessCPU(self) = %s, SelfCPU %s then %s", got, a, b)
	}
	if _, err := ProcessCPU(1 << 30); err == nil {
		t.Error("ProcessCPU of a pid that does not exist: no error")
	}
}

// ProcessMemory reads KiB: a child holding 64 MiB has a resident set above
// that, and its peak is at least its resident set.
func TestProcessMemory(t *testing.T) {
	cmd := child(t, 3*time.Second, 64)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var one [1]byte
	done := make(chan error, 1)
	go func() { _, err := out.Read(one[:]); done <- err }() // the child writes once it touched its memory
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not start within 30 s")
	}
	rss, peak, err := ProcessMemory(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if rss < 64<<10 || rss > 1<<20 || peak < rss {
		t.Errorf("a child holding 64 MiB: RSS %d KiB, peak %d KiB", rss, peak)
	}
	if _, _, err := ProcessMemory(1 << 30); err == nil {
		t.Error("ProcessMemory of a pid that does not exist: no error")
	}
}

// GroupCPU finds this process and a child it started, and not an
// unrelated process.
func TestGroupCPU(t *testing.T) {
	cmd := child(t, 2*time.Second, 0)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	g, err := GroupCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g[os.Getpid()]; !ok {
		t.Errorf("GroupCPU(self) = %v: lacks this process", g)
	}
	if _, ok := g[cmd.Process.Pid]; !ok {
		t.Errorf("GroupCPU(self) = %v: lacks the child %d", g, cmd.Process.Pid)
	}
	if _, ok := g[1]; ok && os.Getpid() != 1 {
		t.Errorf("GroupCPU(self) = %v: holds pid 1", g)
	}
	if _, err := GroupCPU(1 << 30); err == nil {
		t.Error("GroupCPU of a pid that does not exist: no error")
	}
}

func TestLoadAverage(t *testing.T) {
	if got := LoadAverage(); !regexp.MustCompile(`^\d+\.\d\d \d+\.\d\d \d+\.\d\d$`).MatchString(got) {
		t.Errorf("LoadAverage = %q, want three numbers", got)
	}
}

// WatchPeak reports a child's own peak, not this process's: with 256 MiB
// resident here, a child holding 16 MiB peaks between 16 and 256 MiB by
// WatchPeak, while getrusage's figure (Exited) carries this process's
// high-water mark across exec.
func TestWatchPeak(t *testing.T) {
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	cmd := child(t, time.Second, 16)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := WatchPeak(cmd.Process.Pid, 10*time.Millisecond)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	peak := stop()
	runtime.KeepAlive(ballast)
	if peak < 16<<10 || peak >= 256<<10 {
		t.Errorf("a child holding 16 MiB: WatchPeak %d KiB", peak)
	}
	if u := Exited(cmd.ProcessState); u.PeakRSSKiB < 256<<10 {
		t.Logf("getrusage: %d KiB (this kernel does not carry the parent's high-water mark)", u.PeakRSSKiB)
	} else {
		t.Logf("getrusage: %d KiB, WatchPeak %d KiB", u.PeakRSSKiB, peak)
	}
}
