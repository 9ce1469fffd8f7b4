package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ports are chosen once per state folder, so a restart on the same folder keeps its addresses.
type ports struct {
	API      int `json:"api"`
	Etcd     int `json:"etcd"`
	EtcdPeer int `json:"etcdPeer"`
}

// credentials for the two kinds of client the tests need.
type tokens struct {
	Admin string `json:"admin"`
	User  string `json:"user"`
}

type environment struct {
	dir        string
	ports      ports
	tokens     tokens
	kubeconfig string
	caFile     string
}

func (e *environment) path(name string) string { return filepath.Join(e.dir, name) }

func (e *environment) serverURL() string { return fmt.Sprintf("https://127.0.0.1:%d", e.ports.API) }

// prepare creates what the control plane needs in dir, reusing what an earlier run left there.
func prepare(dir string, o options) (*environment, error) {
	env := &environment{dir: dir}
	env.caFile = env.path("ca.crt")
	env.kubeconfig = env.path("kubeconfig")

	steps := []func() error{
		func() error { return loadOrCreateJSON(env.path("ports.json"), &env.ports, newPorts(o)) },
		func() error { return loadOrCreateJSON(env.path("tokens.json"), &env.tokens, newTokens) },
		env.writeTokenFile,
		env.writePKI,
		env.writeKubeconfig,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func newPorts(o options) func(*ports) error {
	return func(p *ports) error {
		var err error
		if p.API, err = portOrFree(o.port); err != nil {
			return err
		}
		if p.Etcd, err = portOrFree(o.etcdPort); err != nil {
			return err
		}
		p.EtcdPeer, err = portOrFree(0)
		return err
	}
}

func newTokens(t *tokens) error {
	t.Admin = randomHex(24)
	t.User = randomHex(24)
	return nil
}

func portOrFree(port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// loadOrCreateJSON reads v from path, or fills it with create and saves it there.
func loadOrCreateJSON[T any](path string, v *T, create func(*T) error) error {
	data, err := os.ReadFile(path)
	if err == nil {
		return json.Unmarshal(data, v)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := create(v); err != nil {
		return err
	}
	data, err = json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// writeTokenFile gives the API server one administrator in system:masters and one ordinary
// user with no permissions, for RBAC tests.
func (e *environment) writeTokenFile() error {
	content := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,tester,tester-uid,\"testers\"\n",
		e.tokens.Admin, e.tokens.User)
	return os.WriteFile(e.path("tokens.csv"), []byte(content), 0o600)
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// writePKI makes a throw-away CA, the API server's serving certificate, an administrator's
// client certificate and the service-account signing key, once per state folder.
func (e *environment) writePKI() error {
	if _, err := os.Stat(e.caFile); err == nil {
		return nil
	}
	ca, err := newCertificate(nil, pkix.Name{CommonName: "kube-testenv-ca"}, true, nil)
	if err != nil {
		return err
	}
	serving, err := newCertificate(ca, pkix.Name{CommonName: "kube-apiserver"}, false, []string{
		"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"})
	if err != nil {
		return err
	}
	admin, err := newCertificate(ca, pkix.Name{CommonName: "admin-cert",
		Organization: []string{"system:masters"}}, false, nil)
	if err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		pem  func() ([]byte, error)
	}{
		{"serving.crt", func() ([]byte, error) { return certPEM(serving), nil }},
		{"serving.key", func() ([]byte, error) { return keyPEM(serving.key) }},
		{"admin.crt", func() ([]byte, error) { return certPEM(admin), nil }},
		{"admin.key", func() ([]byte, error) { return keyPEM(admin.key) }},
		{"sa.key", func() ([]byte, error) { return ecKeyPEM(saKey) }},
		{"ca.crt", func() ([]byte, error) { return certPEM(ca), nil }},
	}
	for _, f := range files {
		data, err := f.pem()
		if err != nil {
			return err
		}
		if err := os.WriteFile(e.path(f.name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func newCertificate(parent *keyPair, subject pkix.Name, isCA bool, hosts []string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &keyPair{cert: cert, key: key, der: der}, err
}

func certPEM(k *keyPair) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.der})
}

func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ecKeyPEM writes SEC1 ("EC PRIVATE KEY"), the form the API server reads for service-account
// signing and verification keys.
func ecKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// writeKubeconfig names three contexts: "admin" (client certificate, the current one),
// "admin-token" (bearer token) and "user" (an ordinary user without permissions).
func (e *environment) writeKubeconfig() error {
	read := func(name string) (string, error) {
		data, err := os.ReadFile(e.path(name))
		return base64.StdEncoding.EncodeToString(data), err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return err
	}
	cert, err := read("admin.crt")
	if err != nil {
		return err
	}
	key, err := read("admin.key")
	if err != nil {
		return err
	}
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
- name: admin-token
  user:
    token: %s
- name: user
  user:
    token: %s
contexts:
- name: admin
  context: {cluster: testenv, user: admin, namespace: default}
- name: admin-token
  context: {cluster: testenv, user: admin-token, namespace: default}
- name: user
  context: {cluster: testenv, user: user, namespace: default}
current-context: admin
`, e.serverURL(), ca, cert, key, e.tokens.Admin, e.tokens.User)
	return os.WriteFile(e.kubeconfig, []byte(content), 0o600)
}
