# syntax=docker/dockerfile:1
# egressd exporter. Build from the repository root:
#   docker build -f deploy/docker/exporter.Dockerfile --build-arg DOTNET_IMAGES=<where the official .NET images live> -t egressd/exporter:TAG .
# DOTNET_IMAGES is the repository prefix of the official .NET images (the sdk and aspnet images);
# the image workflow and the Tiltfile pass it.
ARG DOTNET_IMAGES
ARG DOTNET_VERSION=10.0

FROM ${DOTNET_IMAGES}/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
COPY . .
# Framework-dependent, for the runtime image below; a test runs this same command (deploy/docker tests).
RUN dotnet publish services/exporter/Egressd.Exporter.csproj -c Release -o /app -p:UseAppHost=false

FROM ${DOTNET_IMAGES}/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
COPY --from=build /app .
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    MASSTRANSIT_USAGE_TELEMETRY=false \
    DOTNET_gcServer=0 \
    Egressd__Bus__Transport=rabbitmq
# Non-root, the uid the chart runs it as (Pod Security "restricted").
USER 10001:10001
EXPOSE 6060
ENTRYPOINT ["dotnet", "Egressd.Exporter.dll"]
