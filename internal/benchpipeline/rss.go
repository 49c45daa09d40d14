package benchpipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

// RSSOptions configure RunRSS.
type RSSOptions struct {
	Bot   string // the bot executable; required
	Dir   string // data directory and configuration; required
	Feeds int    // default 1,000
	Items int    // default 50
	Subs  int    // default 1,000
	Seed  int64  // default 1
	// Interval is the sources' poll schedule (default 20 s): one cycle of
	// every feed per interval.
	Interval time.Duration
	// Cycles is how many cycles to wait for (default 4: first poll, new
	// content, all 304, new content).
	Cycles int
	JSON   bool
}

// RSSResult is the resident memory of the child `bot run`, from
// /proc/PID/status.
type RSSResult struct {
	Feeds  int `json:"feeds"`
	Items  int `json:"items"`
	Subs   int `json:"subs"`
	Cycles int `json:"cycles"`
	// VmRSSMB is the resident set at the end: the last reading (taken
	// every 200 ms) before the next cycle's first request, so what the
	// bot holds between cycles.
	VmRSSMB float64 `json:"vm_rss_mb"`
	// VmRSSLastCycleMB is the resident set 3 s after the last cycle's
	// last response, while the bot may still be handling it (what
	// VmRSSMB was before the third session).
	VmRSSLastCycleMB float64 `json:"vm_rss_last_cycle_mb"`
	// IdleSeconds is how long after that reading the next cycle began.
	IdleSeconds float64 `json:"idle_seconds"`
	// VmHWMMB is the peak resident set over the whole run.
	VmHWMMB float64 `json:"vm_hwm_mb"`
	// RssAnonMB and RssFileMB split VmRSS at the end: the Go heap and
	// stacks, and the pages of mapped files (the bbolt file) in memory.
	RssAnonMB float64 `json:"rss_anon_mb"`
	RssFileMB float64 `json:"rss_file_mb"`
	// DBRssMB is the part of RssFileMB that is the bbolt file's map (from
	// /proc/PID/smaps), and DBFileMB the file's size at the end.
	DBRssMB  float64 `json:"db_rss_mb"`
	DBFileMB float64 `json:"db_file_mb"`
	// CPUSeconds is the child's user and system time over the whole run,
	// start-up included (/proc/PID/stat).
	CPUSeconds float64 `json:"cpu_seconds"`
	Seconds    float64 `json:"seconds"`
	// Log is the child's log file.
	Log string `json:"log"`
}

// RunRSS starts a real `bot run` as a child process with Feeds sources on
// a local feed server and Subs workload subscriptions in its database,
// waits for Cycles poll cycles (new content on every other one) and reads
// the child's VmRSS and VmHWM. No chat platform is enabled, so alerts stay
// in the outbox.
func RunRSS(ctx context.Context, opt RSSOptions, w io.Writer) (*RSSResult, error) {
	if opt.Bot == "" || opt.Dir == "" {
		return nil, errors.New("bench pipeline rss: the bot executable and a directory are required")
	}
	if opt.Feeds <= 0 {
		opt.Feeds = 1000
	}
	if opt.Items <= 0 {
		opt.Items = 50
	}
	if opt.Subs < 0 {
		opt.Subs = 0
	} else if opt.Subs == 0 {
		opt.Subs = 1000
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.Interval <= 0 {
		opt.Interval = 20 * time.Second
	}
	if opt.Cycles <= 0 {
		opt.Cycles = 4
	}
	dataDir := filepath.Join(opt.Dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("bench pipeline rss: %w", err)
	}
	if err := storeSubs(filepath.Join(dataDir, "frontwire.db"), opt.Subs, opt.Seed); err != nil {
		return nil, err
	}
	fs := NewFeedServer(opt.Feeds, opt.Items, opt.Seed)
	srv := httptest.NewServer(fs)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		return nil, fmt.Errorf("bench pipeline rss: %w", err)
	}
	cfgPath := filepath.Join(opt.Dir, "config.toml")
	if err := os.WriteFile(cfgPath, rssConfig(dataDir, u.Host, opt), 0o600); err != nil {
		return nil, fmt.Errorf("bench pipeline rss: %w", err)
	}
	logPath := filepath.Join(opt.Dir, "bot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench pipeline rss: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(opt.Bot, "run", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = childEnv()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench pipeline rss: start %s: %w", opt.Bot, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	// Each cycle is one request per feed. New content is published after
	// every odd cycle, so cycles alternate between new stories and 304s
	// (the first poll of a source marks its stories seen).
	res := &RSSResult{Feeds: opt.Feeds, Items: opt.Items, Subs: opt.Subs, Cycles: opt.Cycles, Log: logPath}
	deadline := time.Now().Add(time.Duration(opt.Cycles+2)*opt.Interval + 2*time.Minute)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// next waits for the next tick; an error means the run is over.
	next := func() error {
		select {
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("bench pipeline rss: bot exited early (%v); see %s", err, logPath)
		case <-tick.C:
			return nil
		}
	}
	done := 0
	var settled time.Time
	for {
		if err := next(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("bench pipeline rss: only %d of %d cycles within the deadline; see %s", done, opt.Cycles, logPath)
		}
		total, _ := fs.Requests()
		for done < opt.Cycles && total >= int64(done+1)*int64(opt.Feeds) {
			done++
			if done%2 == 1 && done < opt.Cycles {
				fs.Advance()
			}
			if done == opt.Cycles {
				// The last responses are written; give the bot a moment
				// to parse, match and commit them before reading its
				// memory.
				settled = time.Now().Add(3 * time.Second)
			}
		}
		if done == opt.Cycles && time.Now().After(settled) {
			break
		}
	}
	pid := cmd.Process.Pid
	dbPath := filepath.Join(dataDir, "frontwire.db")
	if st, err := procStatus(pid); err == nil {
		res.VmRSSLastCycleMB = st["VmRSS"] / 1024
	}
	// Then read the memory every tick until the next cycle's first
	// request: the last reading before it is what the bot holds between
	// cycles, once it has finished (or given back) what the cycle used.
	idleFrom := time.Now()
	var st map[string]float64
	err = nil
	for {
		cur, cerr := procStatus(pid)
		db, derr := mappedRSS(pid, dbPath)
		if total, _ := fs.Requests(); total > int64(opt.Cycles)*int64(opt.Feeds) || time.Since(idleFrom) > opt.Interval+idleWait {
			break // the next cycle began before this reading (or it never came)
		}
		st, err = cur, cerr
		if err == nil {
			res.DBRssMB, err = db, derr
		}
		if err := next(); err != nil {
			return nil, err
		}
	}
	res.IdleSeconds = time.Since(idleFrom).Seconds()
	if st == nil && err == nil {
		err = errors.New("bench pipeline rss: the next cycle began before memory could be read")
	}
	if err == nil {
		res.CPUSeconds, err = procCPU(pid)
	}
	res.Seconds = time.Since(start).Seconds()
	stop()
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dbPath); err == nil {
		res.DBFileMB = float64(fi.Size()) / (1 << 20)
	}
	res.VmRSSMB, res.VmHWMMB = st["VmRSS"]/1024, st["VmHWM"]/1024
	res.RssAnonMB, res.RssFileMB = st["RssAnon"]/1024, st["RssFile"]/1024
	if opt.JSON {
		return res, json.NewEncoder(w).Encode(res)
	}
	_, err = fmt.Fprintf(w, "bot run with %d sources × %d items, %d subscriptions, %d cycles of %s (%.0f s, %.1f CPU-s):\n"+
		"VmRSS between cycles (%.1f s after the last cycle, just before the next) %.1f MB (anonymous %.1f MB, file pages %.1f MB, of which the bbolt file %.1f MB of its %.1f MB)\n"+
		"VmRSS 3 s after the last cycle's last response %.1f MB, VmHWM (peak) %.1f MB\n",
		res.Feeds, res.Items, res.Subs, res.Cycles, opt.Interval, res.Seconds, res.CPUSeconds,
		res.IdleSeconds, res.VmRSSMB, res.RssAnonMB, res.RssFileMB, res.DBRssMB, res.DBFileMB, res.VmRSSLastCycleMB, res.VmHWMMB)
	return res, err
}

// idleWait bounds how long after an interval RunRSS waits for the next
// cycle to begin.
const idleWait = time.Minute

// storeSubs writes n workload subscriptions into a new database at path.
func storeSubs(path string, n int, seed int64) error {
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		return fmt.Errorf("bench pipeline rss: %w", err)
	}
	subs := workload.New(seed).Subscriptions(n)
	ptrs := make([]*subscriptions.Subscription, len(subs))
	for i := range subs {
		ptrs[i] = &subs[i]
	}
	if err := db.AddSubscriptions(ptrs); err != nil {
		db.Close()
		return fmt.Errorf("bench pipeline rss: %w", err)
	}
	return db.Close()
}

// rssConfig is the child's configuration: every source on the local feed
// server, no chat platform, no HTTP listener.
func rssConfig(dataDir, hostPort string, opt RSSOptions) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "[bot]\ndata_dir = %s\npoll_schedule = %s\nallow_private_sources = true\nlog_format = \"text\"\n\n",
		strconv.Quote(dataDir), strconv.Quote("@every "+opt.Interval.String()))
	for i := range opt.Feeds {
		// The child resolves no names: all feeds share the loopback
		// address, so its per-host limit applies to them together.
		fmt.Fprintf(&b, "[[sources]]\nname = \"wire-%04d\"\nurl = %s\n\n", i,
			strconv.Quote("http://"+hostPort+"/feeds/"+strconv.Itoa(i)+".xml"))
	}
	return b.Bytes()
}

// childEnv is this process's environment without Frontwire's overrides,
// so that the generated configuration is what the child runs with.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FRONTWIRE_") {
			env = append(env, kv)
		}
	}
	return env
}

// procStatus reads the kB fields of /proc/PID/status.
func procStatus(pid int) (map[string]float64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return nil, fmt.Errorf("bench pipeline rss: %w", err)
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 2 && fields[1] == "kB" {
			if n, err := strconv.ParseFloat(fields[0], 64); err == nil {
				out[k] = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench pipeline rss: %w", err)
	}
	if _, ok := out["VmRSS"]; !ok {
		return nil, errors.New("bench pipeline rss: no VmRSS in /proc status")
	}
	return out, nil
}

// mappedRSS is the resident size (MB) of the maps of path in
// /proc/PID/smaps: how much of the bbolt file is in the child's resident
// set.
func mappedRSS(pid int, path string) (float64, error) {
	b, err := storage.MappedResident(filepath.Join("/proc", strconv.Itoa(pid), "smaps"), path)
	if err != nil {
		return 0, fmt.Errorf("bench pipeline rss: %w", err)
	}
	return float64(b) / (1 << 20), nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every Linux Go supports.
const clockTicks = 100

// procCPU reads the user and system time (s) of /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("bench pipeline rss: %w", err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis. utime and stime are fields 14 and 15,
	// the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bench pipeline rss: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("bench pipeline rss: short /proc stat")
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench pipeline rss: malformed /proc stat times")
	}
	return (u + s) / clockTicks, nil
}
