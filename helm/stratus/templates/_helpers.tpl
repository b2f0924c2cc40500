{{/* The chart's name. */}}
{{- define "stratus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource name: release-chart, or fullnameOverride. */}}
{{- define "stratus.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's name: (dict "root" $ "component" "scheduler"). */}}
{{- define "stratus.componentName" -}}
{{- printf "%s-%s" (include "stratus.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stratus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every resource carries: (dict "root" $ "component" "scheduler"). */}}
{{- define "stratus.labels" -}}
helm.sh/chart: {{ include "stratus.chart" .root }}
{{ include "stratus.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: stratus
{{- end -}}

{{/* The labels selectors match on: (dict "root" $ "component" "scheduler"). */}}
{{- define "stratus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stratus.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* A container image: (dict "root" $ "image" .Values.scheduler.image). Empty fields fall back to .Values.image, the tag to the appVersion. */}}
{{- define "stratus.image" -}}
{{- $registry := .image.registry | default .root.Values.image.registry -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The cluster-internal base URLs of the two Services. */}}
{{- define "stratus.schedulerUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "stratus.componentName" (dict "root" . "component" "scheduler")) .Release.Namespace .Values.scheduler.service.port -}}
{{- end -}}

{{- define "stratus.identityUrl" -}}
{{- printf "%s/identity/v3" (include "stratus.schedulerUrl" .) -}}
{{- end -}}

{{- define "stratus.imageServiceUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "stratus.componentName" (dict "root" . "component" "image-service")) .Release.Namespace .Values.imageService.service.port -}}
{{- end -}}

{{/* Where the services find the database and the bus: the bundled ones or the external ones. */}}
{{- define "stratus.postgresqlUrl" -}}
{{- if .Values.bundled.enabled -}}
{{- printf "jdbc:postgresql://%s:5432/stratus" (include "stratus.componentName" (dict "root" . "component" "postgresql")) -}}
{{- else -}}
{{- required "postgresql.url is required unless bundled.enabled" .Values.postgresql.url -}}
{{- end -}}
{{- end -}}

{{- define "stratus.postgresqlUser" -}}
{{- if .Values.bundled.enabled -}}stratus{{- else -}}{{ required "postgresql.user is required unless bundled.enabled" .Values.postgresql.user }}{{- end -}}
{{- end -}}

{{- define "stratus.kafkaBootstrapServers" -}}
{{- if .Values.bundled.enabled -}}
{{- printf "%s:9092" (include "stratus.componentName" (dict "root" . "component" "kafka")) -}}
{{- else -}}
{{- required "kafka.bootstrapServers is required unless bundled.enabled" .Values.kafka.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{/* The Secrets (name and key) that hold each password. */}}
{{- define "stratus.postgresqlSecretName" -}}
{{- if and (not .Values.bundled.enabled) .Values.postgresql.existingSecret -}}
{{- .Values.postgresql.existingSecret -}}
{{- else -}}
{{- include "stratus.componentName" (dict "root" . "component" "postgresql") -}}
{{- end -}}
{{- end -}}

{{- define "stratus.postgresqlSecretKey" -}}
{{- if and (not .Values.bundled.enabled) .Values.postgresql.existingSecret -}}
{{- .Values.postgresql.existingSecretPasswordKey -}}
{{- else -}}password{{- end -}}
{{- end -}}

{{- define "stratus.adminSecretName" -}}
{{- .Values.scheduler.adminPassword.existingSecret | default (include "stratus.componentName" (dict "root" . "component" "admin")) -}}
{{- end -}}

{{- define "stratus.adminSecretKey" -}}
{{- if .Values.scheduler.adminPassword.existingSecret -}}{{ .Values.scheduler.adminPassword.existingSecretKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{- define "stratus.agentSecretName" -}}
{{- .Values.agent.serviceUser.existingSecret | default (include "stratus.componentName" (dict "root" . "component" "agent-service-user")) -}}
{{- end -}}

{{- define "stratus.agentSecretKey" -}}
{{- if .Values.agent.serviceUser.existingSecret -}}{{ .Values.agent.serviceUser.existingSecretKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{- define "stratus.metadataSecretName" -}}
{{- .Values.metadataService.sharedSecret.existingSecret | default (include "stratus.componentName" (dict "root" . "component" "metadata-secret")) -}}
{{- end -}}

{{- define "stratus.metadataSecretKey" -}}
{{- if .Values.metadataService.sharedSecret.existingSecret -}}{{ .Values.metadataService.sharedSecret.existingSecretKey }}{{- else -}}secret{{- end -}}
{{- end -}}

{{/*
A generated password, base64-encoded, that stays what it was on upgrade: the value in the Secret
the release already has (lookup), else a new random one. (dict "root" $ "name" "..." "key" "password")
*/}}
{{- define "stratus.generatedPassword" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}

{{/* Pod-level settings shared by the Deployments. */}}
{{- define "stratus.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
