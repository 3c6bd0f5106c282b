# syntax=docker/dockerfile:1
# egressd collector. Build from the repository root:
#   docker build -f deploy/docker/collector.Dockerfile --build-arg DOTNET_IMAGES=<where the official .NET images live> -t egressd/collector:TAG .
# DOTNET_IMAGES is the repository prefix of the official .NET images (the sdk and aspnet images);
# the image workflow and the Tiltfile pass it. Its default is the path those images have in
# Microsoft's registry, for a daemon or registry mirror that serves it under its own name.
ARG DOTNET_IMAGES=dotnet
ARG DOTNET_VERSION=10.0

# The SDK runs on the build machine's platform and cross-compiles for the target's
# (-a $TARGETARCH): .NET is not supported under emulation, and the output is plain IL anyway.
FROM --platform=$BUILDPLATFORM ${DOTNET_IMAGES}/sdk:${DOTNET_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
# The restore from the project files alone: this layer stays cached until a project file or a
# package version changes, not at every source edit.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY shared/Egressd.Contracts/Egressd.Contracts.csproj shared/Egressd.Contracts/
COPY shared/Egressd.Shared/Egressd.Shared.csproj shared/Egressd.Shared/
COPY services/collector/Egressd.Collector.csproj services/collector/
RUN dotnet restore services/collector/Egressd.Collector.csproj -a $TARGETARCH
COPY . .
# Framework-dependent, for the runtime image below; a test runs these same commands (deploy/docker tests).
RUN dotnet publish services/collector/Egressd.Collector.csproj --no-restore -c Release -a $TARGETARCH -o /app -p:UseAppHost=false

FROM ${DOTNET_IMAGES}/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
COPY --from=build /app .
# MALLOC_ARENA_MAX: glibc gives each thread that meets a busy arena one of its own, up to eight
# per core, and keeps what it freed in each; the runtime's few native allocations need two
# (4 MiB less peak RSS at 250,000 changing keys, docs/BENCHMARKS.md).
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    MASSTRANSIT_USAGE_TELEMETRY=false \
    DOTNET_gcServer=0 \
    MALLOC_ARENA_MAX=2 \
    Egressd__Bus__Transport=rabbitmq
# Root: conntrack over netlink needs CAP_NET_ADMIN, and Kubernetes grants capabilities to
# root only (no ambient capabilities). The chart drops every other capability.
USER 0
EXPOSE 6061
ENTRYPOINT ["dotnet", "Egressd.Collector.dll"]
