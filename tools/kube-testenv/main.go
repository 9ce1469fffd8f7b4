// Command kube-testenv runs a real Kubernetes control plane on loopback for tests and local runs:
// etcd embedded in this process and kube-apiserver, built from the k8s.io/kubernetes module, in a
// child process of the same binary. It generates its certificates and credentials, installs the
// CustomResourceDefinitions it is given, writes a kubeconfig and prints one READY line.
//
// Signals: SIGTERM or SIGINT stop everything and remove what a temporary state folder held;
// SIGUSR1 restarts the API server on the same port and the same etcd data, so clients see a
// real server restart under a running watch.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// apiserverMode is the first argument that makes this binary act as kube-apiserver itself.
const apiserverMode = "apiserver"

type options struct {
	dir                string
	crdPaths           string
	port               int
	etcdPort           int
	compactionInterval time.Duration
	watchCache         bool
	readyTimeout       time.Duration
	logLevel           int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == apiserverMode {
		command := app.NewAPIServerCommand()
		command.SetArgs(os.Args[2:])
		os.Exit(cli.Run(command))
	}
	opts := parseFlags()
	if err := run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "kube-testenv: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.dir, "dir", "", "state folder (etcd data, certificates, kubeconfig); "+
		"kept when given, a temporary folder removed at exit otherwise")
	flag.StringVar(&o.crdPaths, "crds", "", "comma-separated CRD files or folders to install")
	flag.IntVar(&o.port, "port", 0, "API server port on 127.0.0.1 (0: a free one, kept in --dir)")
	flag.IntVar(&o.etcdPort, "etcd-port", 0, "etcd client port on 127.0.0.1 (0: a free one)")
	flag.DurationVar(&o.compactionInterval, "etcd-compaction-interval", 5*time.Minute,
		"how often the API server compacts etcd (short values provoke 410 Gone on watches)")
	flag.BoolVar(&o.watchCache, "watch-cache", true, "serve watches from the API server's cache")
	flag.DurationVar(&o.readyTimeout, "ready-timeout", 4*time.Minute, "how long to wait for /readyz")
	flag.IntVar(&o.logLevel, "v", 0, "API server log verbosity")
	flag.Parse()
	return o
}

func run(o options) error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)

	dir, cleanup, err := stateDir(o.dir)
	if err != nil {
		return err
	}
	defer cleanup()

	env, err := prepare(dir, o)
	if err != nil {
		return err
	}

	etcd, err := startEtcd(filepath.Join(dir, "etcd"), env.ports.Etcd, env.ports.EtcdPeer)
	if err != nil {
		return err
	}
	defer etcd.Close()

	server := newAPIServer(env, o)
	if err := server.start(); err != nil {
		return err
	}
	defer server.stop()

	if err := server.waitReady(ctx, o.readyTimeout); err != nil {
		return err
	}
	if err := installCRDs(ctx, env, splitList(o.crdPaths)); err != nil {
		return err
	}
	fmt.Printf("READY kubeconfig=%s server=%s dir=%s pid=%d\n", env.kubeconfig, env.serverURL(), dir,
		os.Getpid())

	return supervise(ctx, server, etcd, signals, o.readyTimeout)
}

// supervise waits for a stop signal, restarts the API server on SIGUSR1, and fails when the API
// server or etcd exits on its own.
func supervise(ctx context.Context, server *apiServer, etcd *etcdServer, signals chan os.Signal,
	readyTimeout time.Duration) error {
	for {
		select {
		case sig := <-signals:
			if sig != syscall.SIGUSR1 {
				return nil
			}
			if err := server.restart(ctx, readyTimeout); err != nil {
				return fmt.Errorf("restarting the API server: %w", err)
			}
			fmt.Println("RESTARTED")
		case <-server.done:
			return fmt.Errorf("the API server exited on its own: %v (log: %s)", server.exitErr, server.logPath)
		case err := <-etcd.errors():
			return fmt.Errorf("etcd failed: %w", err)
		}
	}
}

// stateDir returns the state folder and what removes it at exit: nothing for a folder the
// caller named, everything for a temporary one.
func stateDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("creating --dir %s: %w", dir, err)
		}
		abs, err := filepath.Abs(dir)
		return abs, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "kube-testenv-")
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var errNotReady = errors.New("the API server did not become ready")
