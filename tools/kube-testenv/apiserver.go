package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// apiServer is kube-apiserver running as a child process of this binary.
type apiServer struct {
	env     *environment
	args    []string
	logPath string
	cmd     *exec.Cmd
	// done is closed when the current child has exited; exitErr then says how.
	done    chan struct{}
	exitErr error
}

func newAPIServer(env *environment, o options) *apiServer {
	port := strconv.Itoa(env.ports.API)
	args := []string{
		apiserverMode,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + port,
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", env.ports.Etcd),
		"--etcd-compaction-interval=" + o.compactionInterval.String(),
		"--watch-cache=" + strconv.FormatBool(o.watchCache),
		"--cert-dir=" + env.path("apiserver-certs"),
		"--tls-cert-file=" + env.path("serving.crt"),
		"--tls-private-key-file=" + env.path("serving.key"),
		"--client-ca-file=" + env.caFile,
		"--token-auth-file=" + env.path("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		"--service-account-issuer=https://127.0.0.1:" + port,
		"--service-account-key-file=" + env.path("sa.key"),
		"--service-account-signing-key-file=" + env.path("sa.key"),
		"--allow-privileged=true",
		// The endpoint reconciler refuses loopback addresses; nothing here needs the kubernetes
		// Service endpoints.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=" + strconv.Itoa(o.logLevel),
	}
	return &apiServer{env: env, args: args, logPath: env.path("apiserver.log")}
}

func (s *apiServer) start() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(self, s.args...)
	cmd.Stdout, cmd.Stderr = log, log
	// The child dies with this process, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		s.exitErr = cmd.Wait()
		log.Close()
		close(done)
	}(s.done)
	return nil
}

// stop ends the child with SIGTERM and, after a bound, SIGKILL.
func (s *apiServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

func (s *apiServer) restart(ctx context.Context, readyTimeout time.Duration) error {
	s.stop()
	if err := s.start(); err != nil {
		return err
	}
	return s.waitReady(ctx, readyTimeout)
}

// waitReady polls /readyz until it answers 200 and namespace default exists.
func (s *apiServer) waitReady(ctx context.Context, timeout time.Duration) error {
	client, err := s.env.adminHTTPClient()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.answers(client, "/readyz") && s.answers(client, "/api/v1/namespaces/default") {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("kube-apiserver exited while starting: %v (log: %s)", s.exitErr, s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w within %s (log: %s)", errNotReady, timeout, s.logPath)
}

func (s *apiServer) answers(client *http.Client, path string) bool {
	req, _ := http.NewRequest(http.MethodGet, s.env.serverURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.env.tokens.Admin)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (e *environment) adminHTTPClient() (*http.Client, error) {
	caPEM, err := os.ReadFile(e.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: nil}
	return &http.Client{Transport: transport, Timeout: 5 * time.Second}, nil
}
