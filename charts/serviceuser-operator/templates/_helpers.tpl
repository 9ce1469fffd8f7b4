{{/* The chart name, overridable. */}}
{{- define "serviceuser-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: the release name, with the chart name unless included. */}}
{{- define "serviceuser-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "serviceuser-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serviceuser-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "serviceuser-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "serviceuser-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: serviceuser-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "serviceuser-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "serviceuser-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "serviceuser-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "serviceuser-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{- define "serviceuser-operator.issuerNamespace" -}}
{{- default .Release.Namespace .Values.issuer.namespace }}
{{- end }}

{{/* Name of the Secret with the issuer's API key: an existing one, or the one the chart makes. */}}
{{- define "serviceuser-operator.issuerApiKeySecret" -}}
{{- default (printf "%s-api-key" .Values.issuer.name) .Values.issuer.apiKey.existingSecret }}
{{- end }}
