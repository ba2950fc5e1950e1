package measure

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// spin burns CPU for about d of wall time.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// spinCPU burns d of this process's CPU time, however long that takes on
// a busy machine.
func spinCPU(d time.Duration) {
	for end := SelfCPU() + d; SelfCPU() < end; {
		spin(time.Millisecond)
	}
}

// TestMain lets the test binary be its own child: with MEASURE_SPIN set it
// touches MEASURE_HOLD MiB, writes one byte to stdout, burns MEASURE_SPIN
// of CPU time holding that memory, and exits.
func TestMain(m *testing.M) {
	if s := os.Getenv("MEASURE_SPIN"); s != "" {
		d, _ := time.ParseDuration(s)
		mib, _ := strconv.Atoi(os.Getenv("MEASURE_HOLD"))
		buf := make([]byte, mib<<20)
		for i := range buf {
			buf[i] = byte(i)
		}
		os.Stdout.Write(buf[:1]) // it holds its memory now
		spinCPU(d)
		runtime.KeepAlive(buf)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child returns a command running this test binary as a child that burns
// spin of CPU holding holdMiB MiB.
func child(t *testing.T, spin time.Duration, holdMiB int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MEASURE_SPIN="+spin.String(), "MEASURE_HOLD="+strconv.Itoa(holdMiB))
	return cmd
}

// SelfCPU counts in nanoseconds: 200 ms of spinning is more than 10 ms
// of CPU time (however busy the machine) and less than all CPUs' worth.
func TestSelfCPU(t *testing.T) {
	before, start := SelfCPU(), time.Now()
	spin(200 * time.Millisecond)
	wall := time.Since(start)
	if d := SelfCPU() - before; d < 10*time.Millisecond || d > wall*time.Duration(runtime.NumCPU())+100*time.Millisecond {
		t.Errorf("%s of spinning counted as %s of CPU", wall, d)
	}
}

// Exited reports the child's CPU time and its peak RSS in KiB: a child
// that held 64 MiB peaks above that.
func TestExited(t *testing.T) {
	cmd := child(t, 200*time.Millisecond, 64)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	u := Exited(cmd.ProcessState)
	if u.CPU < 200*time.Millisecond || u.CPU > 10*time.Second {
		t.Errorf("a child that burnt 200 ms of CPU used %s", u.CPU)
	}
	if u.PeakRSSKiB < 64<<10 || u.PeakRSSKiB > 1<<20 {
		t.Errorf("a child holding 64 MiB peaked at %d KiB", u.PeakRSSKiB)
	}
}

// GoMemory counts a live 32 MiB allocation and not a dropped one.
func TestGoMemory(t *testing.T) {
	base := GoMemory()
	keep := make([]byte, 32<<20)
	for i := range keep {
		keep[i] = 1
	}
	with := GoMemory()
	if grew := with.Total() - base.Total(); grew < 30<<20 || grew > 64<<20 {
		t.Errorf("a live 32 MiB slice grew the Go memory by %d bytes (%v → %v)", grew, base, with)
	}
	if keep[len(keep)-1] != 1 {
		t.Fatal("unreachable")
	}
	keep = nil
	if after := GoMemory(); after.Total() > with.Total()-30<<20 {
		t.Errorf("after dropping the slice: %v, before %v", after, with)
	}
	if base.Goroutines < 1 || base.Stacks == 0 {
		t.Errorf("GoMemory = %v: no goroutines or stacks", base)
	}
}

func TestCPUSince(t *testing.T) {
	before := map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: time.Second}
	after := map[int]time.Duration{1: 3 * time.Second, 2: 2 * time.Second, 4: 500 * time.Millisecond} // 3 ended, 4 started
	if got, want := CPUSince(before, after), 2500*time.Millisecond; got != want {
		t.Errorf("CPUSince = %s, want %s", got, want)
	}
}
