package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
)

// installCRDs creates or updates every CustomResourceDefinition found in paths, then waits until
// each is Established and its resources are served by discovery.
func installCRDs(ctx context.Context, env *environment, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	crds, err := readCRDs(paths)
	if err != nil {
		return err
	}
	config, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		return err
	}
	client, err := apiextensionsclient.NewForConfig(config)
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if err := apply(ctx, client, crd); err != nil {
			return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
	}
	for _, crd := range crds {
		if err := waitServed(ctx, client, disco, crd); err != nil {
			return err
		}
	}
	return nil
}

func readCRDs(paths []string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("CRD path: %w", err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pattern := range []string{"*.yaml", "*.yml", "*.json"} {
			matches, _ := filepath.Glob(filepath.Join(p, pattern))
			files = append(files, matches...)
		}
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		found, err := readCRDFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		crds = append(crds, found...)
	}
	return crds, nil
}

func readCRDFile(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := decoder.Decode(crd)
		if err == io.EOF {
			return crds, nil
		}
		if err != nil {
			return nil, err
		}
		if crd.Kind == "CustomResourceDefinition" {
			crds = append(crds, crd)
		}
	}
}

func apply(ctx context.Context, client apiextensionsclient.Interface,
	crd *apiextensionsv1.CustomResourceDefinition) error {
	api := client.ApiextensionsV1().CustomResourceDefinitions()
	existing, err := api.Get(ctx, crd.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, crd, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	crd.ResourceVersion = existing.ResourceVersion
	_, err = api.Update(ctx, crd, metav1.UpdateOptions{})
	return err
}

func waitServed(ctx context.Context, client apiextensionsclient.Interface,
	disco discovery.DiscoveryInterface, crd *apiextensionsv1.CustomResourceDefinition) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if established(ctx, client, crd.Name) && discovered(disco, crd) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("CRD %s was not established and served within a minute", crd.Name)
}

func established(ctx context.Context, client apiextensionsclient.Interface, name string) bool {
	crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

func discovered(disco discovery.DiscoveryInterface, crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		list, err := disco.ServerResourcesForGroupVersion(crd.Spec.Group + "/" + v.Name)
		if err != nil || !hasResource(list, crd.Spec.Names.Plural) {
			return false
		}
	}
	return true
}

func hasResource(list *metav1.APIResourceList, plural string) bool {
	for _, r := range list.APIResources {
		if strings.EqualFold(r.Name, plural) {
			return true
		}
	}
	return false
}
