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

{{/*
The Secrets (kubernetes.io/tls with ca.crt, PKCS#8 key) the bus's clients and broker use: the
ones cert-manager writes for the chart's Certificates when certManager.enabled, else the ones the
operator names. Empty: plaintext (external Kafka only; the bundled broker always has TLS).
*/}}
{{- define "stratus.schedulerKafkaSecret" -}}
{{- if .Values.certManager.enabled -}}
{{- printf "%s-tls" (include "stratus.componentName" (dict "root" . "component" "scheduler-kafka")) -}}
{{- else if .Values.bundled.enabled -}}
{{- required "kafka.tls.schedulerSecret (CN stratus-control-plane) is required with the bundled broker, which requires client certificates, unless certManager.enabled" .Values.kafka.tls.schedulerSecret -}}
{{- else -}}
{{- .Values.kafka.tls.schedulerSecret -}}
{{- end -}}
{{- end -}}

{{/* The agent of one host's Secret: (dict "root" $ "host" "node-1"); host "" is the shared one. */}}
{{- define "stratus.agentKafkaSecret" -}}
{{- $v := .root.Values -}}
{{- if and .host $v.certManager.enabled -}}
{{- printf "%s-tls" (include "stratus.componentName" (dict "root" .root "component" (printf "agent-%s" .host))) -}}
{{- else if .host -}}
{{- if or $v.kafka.tls.agentSecretPrefix $v.bundled.enabled $v.kafka.tls.schedulerSecret -}}
{{- printf "%s%s" (required "kafka.tls.agentSecretPrefix is required with agent.hosts and TLS: each host's Secret is <prefix><host>" $v.kafka.tls.agentSecretPrefix) .host -}}
{{- end -}}
{{- else if $v.bundled.enabled -}}
{{- required "the bundled broker requires a certificate per agent: set agent.hosts (with certManager.enabled or kafka.tls.agentSecretPrefix), or kafka.tls.agentSecret for one shared certificate" $v.kafka.tls.agentSecret -}}
{{- else -}}
{{- $v.kafka.tls.agentSecret -}}
{{- end -}}
{{- end -}}

{{- define "stratus.brokerSecret" -}}
{{- if .Values.certManager.enabled -}}
{{- printf "%s-tls" (include "stratus.componentName" (dict "root" . "component" "kafka")) -}}
{{- else -}}
{{- required "bundled.kafka.tlsSecret (CN stratus-kafka, SANs the kafka Service and localhost) is required with the bundled broker unless certManager.enabled" .Values.bundled.kafka.tlsSecret -}}
{{- end -}}
{{- end -}}

{{/* The agents' nodes: the hosts listed, or one entry "" for a DaemonSet on every labelled node. */}}
{{- define "stratus.agentHosts" -}}
{{- if .Values.agent.hosts -}}
{{- toJson .Values.agent.hosts -}}
{{- else -}}
{{- toJson (list "") -}}
{{- end -}}
{{- end -}}


{{/* A cert-manager Certificate: (dict "root" $ "component" c "cn" name "dns" list "usages" list). */}}
{{- define "stratus.certificate" -}}
{{- $v := .root.Values.certManager -}}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ include "stratus.componentName" (dict "root" .root "component" .component) }}
  labels:
    {{- include "stratus.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  secretName: {{ printf "%s-tls" (include "stratus.componentName" (dict "root" .root "component" .component)) }}
  # The brokers take "CN=<name>,O=Stratus" as principal <name>.
  commonName: {{ .cn | quote }}
  subject:
    organizations: ["Stratus"]
  {{- with .dns }}
  dnsNames:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  duration: {{ $v.duration }}
  renewBefore: {{ $v.renewBefore }}
  privateKey:
    algorithm: ECDSA
    size: 256
    # Kafka's PEM stores and the services read PKCS#8 keys only.
    encoding: PKCS8
    rotationPolicy: Always
  usages:
    {{- toYaml .usages | nindent 4 }}
  issuerRef:
    {{- toYaml $v.issuerRef | nindent 4 }}
{{- end -}}

{{/* NetworkPolicy peers: the agents' nodes (they are on the host network; empty nodeCidrs: any address), a component of this release, Prometheus. */}}
{{- define "stratus.agentPeers" -}}
{{- if .Values.networkPolicy.nodeCidrs }}
{{- range .Values.networkPolicy.nodeCidrs }}
- ipBlock:
    cidr: {{ . | quote }}
{{- end }}
{{- else }}
- ipBlock:
    cidr: 0.0.0.0/0
{{- end }}
{{- end -}}
{{- define "stratus.releasePeer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ .root.Release.Name }}
      app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{- define "stratus.prometheusPeer" -}}
- namespaceSelector:
    {{- toYaml .Values.networkPolicy.prometheus.namespaceSelector | nindent 4 }}
  podSelector:
    {{- toYaml .Values.networkPolicy.prometheus.podSelector | nindent 4 }}
{{- end -}}
