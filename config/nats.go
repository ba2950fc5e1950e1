package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/internal/natsconn"
)

// The keys of scaling out on NATS JetStream (README, "Scaling out"): the
// nats sink, the nats source of pgcdc edge, the HA lease of pgcdc run,
// and the embedded server.

// TypeNATS is the nats sink's type.
const TypeNATS = "nats"

// Defaults of the NATS keys.
const (
	DefaultNATSStream      = "pgcdc"
	DefaultNATSSubject     = natsconn.DefaultSubject
	DefaultNATSMaxInflight = 4096
	DefaultEdgeConsumer    = "edge"
	DefaultHALease         = 10 * time.Second
	DefaultHABucket        = "pgcdc_ha"
	DefaultEmbeddedListen  = "127.0.0.1:4222"
)

// NATSAuth is how a NATS client authenticates, besides user info in its
// URL. Password and Token are secrets.
type NATSAuth struct {
	CredsFile string `yaml:"creds_file"` // user JWT + NKey seed
	NKeyFile  string `yaml:"nkey_file"`  // an NKey seed
	User      string `yaml:"user"`
	Password  string `yaml:"password"`
	Token     string `yaml:"token"`
}

// NATSConn is where a NATS client connects and how.
type NATSConn struct {
	// URL is one or more server URLs, comma-separated; empty with
	// nats.embedded: the embedded server.
	URL      string `yaml:"url"`
	NATSAuth `yaml:",inline"`
	TLS      TLS `yaml:"tls"`
}

// NATSSink holds the settings of the nats sink besides url and tls
// (shared with the webhook sink's keys).
type NATSSink struct {
	Subject     string     `yaml:"subject"`
	Stream      NATSStream `yaml:"stream"`
	MaxInflight int        `yaml:"max_inflight"`
	NATSAuth    `yaml:",inline"`
}

// NATSStream names the stream and how to create it.
type NATSStream struct {
	Name     string        `yaml:"name"`
	Create   bool          `yaml:"create"`
	Replicas int           `yaml:"replicas"`
	MaxAge   time.Duration `yaml:"max_age"`   // 0: unlimited
	MaxBytes int64         `yaml:"max_bytes"` // 0: unlimited
}

// NATSSource is the source of pgcdc edge: the stream a slot reader's nats
// sink writes.
type NATSSource struct {
	NATSConn `yaml:",inline"`
	Stream   string `yaml:"stream"`
	// Consumer names this edge: each durable sink (webhook) keeps its
	// position under consumer.sink. Two edges with a webhook of the same
	// name need different consumers.
	Consumer string `yaml:"consumer"`
}

// HA makes several pgcdc run replicas elect one slot reader through a
// JetStream KV lease.
type HA struct {
	NATS   *NATSConn     `yaml:"nats"` // nil: no HA
	Lease  time.Duration `yaml:"lease"`
	Bucket string        `yaml:"bucket"`
}

// NATS configures the NATS server pgcdc embeds.
type NATS struct {
	Embedded *NATSEmbedded `yaml:"embedded"`
}

// NATSEmbedded is an in-process JetStream server with file storage.
type NATSEmbedded struct {
	DataDir string `yaml:"data_dir"`
	Listen  string `yaml:"listen"`
}

// natsName is what pgcdc accepts as a stream, bucket or consumer name.
var natsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// setNATSDefaults fills the NATS keys; called by SetDefaults.
func (c *Config) setNATSDefaults() {
	embedded := ""
	if e := c.NATS.Embedded; e != nil {
		setDefault(&e.Listen, DefaultEmbeddedListen)
		embedded = "nats://" + e.Listen
	}
	if c.Source.Type == SourceNATS {
		n := &c.Source.NATS
		setDefault(&n.URL, embedded)
		setDefault(&n.Stream, DefaultNATSStream)
		setDefault(&n.Consumer, DefaultEdgeConsumer)
	}
	if c.HA.NATS != nil {
		setDefault(&c.HA.NATS.URL, embedded)
		setDefault(&c.HA.Lease, DefaultHALease)
		setDefault(&c.HA.Bucket, DefaultHABucket)
	}
	for i := range c.Sinks {
		k := &c.Sinks[i]
		if k.Type != TypeNATS {
			continue
		}
		setDefault(&k.URL, embedded)
		setDefault(&k.Subject, DefaultNATSSubject)
		setDefault(&k.Stream.Name, DefaultNATSStream)
		setDefault(&k.Stream.Replicas, 1)
		setDefault(&k.MaxInflight, DefaultNATSMaxInflight)
	}
}

// validateNATS checks ha, nats and source.nats; called by validate.
func (c *Config) validateNATS(errs *errorList) {
	if c.Source.Type == SourceNATS {
		n := &c.Source.NATS
		validateNATSConn(errs, "source.nats", &n.NATSConn)
		validateNATSName(errs, "source.nats.stream", n.Stream)
		validateNATSName(errs, "source.nats.consumer", n.Consumer)
		if c.HA.NATS != nil {
			errs.add("ha", "only for pgcdc run (source.type %s): an edge needs no lease, run as many as you like", SourceReplication)
		}
	} else if c.Source.NATS != (NATSSource{}) {
		errs.add("source.nats", "only used with source.type %s", SourceNATS)
	}
	if h := c.HA; h.NATS != nil {
		validateNATSConn(errs, "ha.nats", h.NATS)
		inRange(errs, "ha.lease", h.Lease, time.Second, 10*time.Minute)
		validateNATSName(errs, "ha.bucket", h.Bucket)
	} else if h.Lease != 0 || h.Bucket != "" {
		errs.add("ha.nats", "required with ha.lease or ha.bucket: the NATS servers that hold the lease")
		inRange(errs, "ha.lease", h.Lease, time.Second, 10*time.Minute)
	}
	if e := c.NATS.Embedded; e != nil {
		if strings.TrimSpace(e.DataDir) == "" {
			errs.add("nats.embedded.data_dir", "required: the directory the embedded JetStream server stores the stream in, e.g. ./pgcdc-nats")
		}
		if err := checkHostPort(e.Listen); err != nil {
			errs.add("nats.embedded.listen", "%v", err)
		}
	}
}

// validateNATSSink checks a nats sink.
func validateNATSSink(errs *errorList, path string, k *Sink) {
	validateNATSConn(errs, path, &NATSConn{URL: k.URL, NATSAuth: k.NATSAuth, TLS: k.TLS})
	if _, err := natsconn.ParseSubject(k.Subject); err != nil {
		errs.add(path+".subject", "%v", err)
	}
	s := &k.Stream
	validateNATSName(errs, path+".stream.name", s.Name)
	inRange(errs, path+".stream.replicas", s.Replicas, 1, 5)
	inRange(errs, path+".stream.max_age", s.MaxAge, 0, 100*365*24*time.Hour)
	inRange(errs, path+".stream.max_bytes", s.MaxBytes, 0, 1<<50) // 0: unlimited
	// Each publish awaiting its PubAck holds its event in memory.
	inRange(errs, path+".max_inflight", k.MaxInflight, 1, 65_536)
}

func validateNATSName(errs *errorList, path, name string) {
	if !natsName.MatchString(name) {
		errs.add(path, "invalid name %s: want 1 to 64 letters, digits, _ or -", quoteValue(name))
	}
}

// validateNATSConn checks the URLs and the authentication options. URLs
// are never quoted back: they may hold credentials.
func validateNATSConn(errs *errorList, path string, n *NATSConn) {
	if strings.TrimSpace(n.URL) == "" {
		errs.add(path+".url", "required: nats://host:4222 (several comma-separated), or configure nats.embedded")
	}
	for u := range strings.SplitSeq(n.URL, ",") {
		if strings.TrimSpace(n.URL) == "" {
			break
		}
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Host == "" || (pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss") {
			errs.add(path+".url", "want nats://host:port or tls://host:port, comma-separated (value not shown: it may hold credentials)")
			break
		}
	}
	set := 0
	for _, v := range []string{n.CredsFile, n.NKeyFile, n.Token} {
		if v != "" {
			set++
		}
	}
	if n.User != "" {
		set++
	}
	if set > 1 {
		errs.add(path, "set one of creds_file, nkey_file, user (+ password) or token")
	}
	if n.Password != "" && n.User == "" {
		errs.add(path+".password", "only used with user")
	}
	if n.TLS.ServerName != "" {
		errs.add(path+".tls.server_name", "not supported for nats: the name in the URL is verified")
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		errs.add(path+".tls", "cert_file and key_file go together: set both or neither")
	}
}

// redactNATS hides the NATS passwords and tokens; called by Redacted.
func (c *Config) redactNATS() {
	conns := []*NATSConn{&c.Source.NATS.NATSConn, c.HA.NATS}
	for _, n := range conns {
		if n == nil {
			continue
		}
		redact(&n.Password)
		redact(&n.Token)
		n.URL = redactURLPassword(n.URL)
	}
	for i := range c.Sinks {
		redact(&c.Sinks[i].NATSSink.Password)
		redact(&c.Sinks[i].NATSSink.Token)
	}
}
