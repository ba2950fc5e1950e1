package httpserver

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate of a cert and key file pair and
// loads them again when either changes on disk (its modification time or
// size), checked at most once per interval on a TLS handshake: a renewed
// certificate (certbot, cert-manager) is picked up without a restart. A
// pair that fails to load (a half-written renewal) keeps the previous
// certificate and is tried again at the next check. It is safe for
// concurrent use.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func newCertReloader(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, interval: interval, log: log}
	stamp, err := r.stamps()
	if err != nil {
		return nil, err
	}
	if r.cert, err = r.load(); err != nil {
		return nil, err
	}
	r.stamp, r.checked = stamp, time.Now()
	return r, nil
}

func (r *certReloader) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, f := range [2]string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return out, fmt.Errorf("read %s: %w", f, err)
		}
		out[i] = fileStamp{st.ModTime(), st.Size()}
	}
	return out, nil
}

// load reads the pair. Its errors name the files, never their contents.
func (r *certReloader) load() (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return nil, fmt.Errorf("read cert_file: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("read key_file: %w", err)
	}
	if !bytes.Contains(certPEM, []byte("-----BEGIN")) {
		return nil, errors.New("cert_file " + r.certFile + " holds no PEM block: want the certificate chain in PEM, leaf first")
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cert_file %s and key_file %s do not make a certificate and its key: %w", r.certFile, r.keyFile, err)
	}
	return &c, nil
}

// get implements tls.Config.GetCertificate.
func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.interval {
		r.checked = now
		if stamp, err := r.stamps(); err != nil {
			r.log.Warn("tls: cannot read the certificate files: serving the previous certificate", "err", err)
		} else if stamp != r.stamp {
			if c, err := r.load(); err != nil {
				r.log.Warn("tls: the changed certificate files do not load: serving the previous certificate", "err", err)
			} else {
				r.cert, r.stamp = c, stamp
				r.log.Info("tls: certificate reloaded", "cert_file", r.certFile)
			}
		}
	}
	return r.cert, nil
}
