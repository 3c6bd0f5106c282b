using System.Diagnostics;
using System.Globalization;
using Egressd.Contracts;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.Http;
using Egressd.Shared.Hosting;
using Egressd.Shared.Network;
using Egressd.Tests.Samples;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Egressd.Benchmarks;

/// <summary>
/// The HTTP sink into a local receiver (Kestrel on loopback, in this process, reading and counting
/// each body): flows per second delivered and bytes per flow on the wire for gzip protobuf,
/// protobuf, gzip NDJSON and NDJSON, measured in turn in each of several rounds. The sinks are the
/// exporter's own (its host, its HTTP client with the resilience pipeline), one per body, each
/// sending every bus batch as its request (<c>interval: 0</c>) one after another.
/// </summary>
internal static class HttpSinkBenchmark
{
    private const int BatchFlows = 10_000;

    private static readonly (string Name, string Encoding, string Compression)[] Cases =
    [
        ("gzip-protobuf", "protobuf", "gzip"),
        ("protobuf", "protobuf", "none"),
        ("gzip-ndjson", "ndjson", "gzip"),
        ("ndjson", "ndjson", "none"),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var flows = int.Parse(Option(args, "--flows", "500000"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(Option(args, "--rounds", "5"), CultureInfo.InvariantCulture);
        var batches = Enumerable.Range(0, Math.Max(1, flows / BatchFlows)).Select(Batch).ToList();
        var total = batches.Sum(b => b.Flows.Count);

        await using var receiver = await Receiver.StartAsync();
        var settings = new List<string>
        {
            "--Egressd:Bus:Transport=inmemory",
            "--Egressd:Http:BindAddress=127.0.0.1",
            "--Egressd:Http:Port=0",
            "--Egressd:Exporter:FlowLog:Enabled=false",
            "--Egressd:Exporter:Prometheus:Enabled=false",
            "--Logging:LogLevel:Default=Warning",
        };
        foreach (var (name, encoding, compression) in Cases)
        {
            var prefix = $"--Egressd:Exporter:Sinks:{name}:http:";
            settings.AddRange([$"{prefix}url={receiver.Url}", $"{prefix}encoding={encoding}", $"{prefix}compression={compression}", $"{prefix}interval=0"]);
        }

        var app = EgressdHost.Build([.. settings], "egressd-exporter", 0, b => b.AddExporter());
        await app.StartAsync();
        var sinks = app.Services.GetRequiredService<HttpSinks>();
        var byName = sinks.All.ToDictionary(s => s.Settings.Name);
        var publicAddresses = new NetworkOptions().PublicAddresses();

        // Warm-up: every path jitted, connections open.
        foreach (var (name, _, _) in Cases)
        {
            await SendAsync(byName[name], batches.Take(2).ToList());
        }

        var results = Cases.ToDictionary(c => c.Name, _ => new List<(double Seconds, double Cpu, long Bytes, double EncodeSeconds)>());
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (name, encoding, compression) in Cases)
            {
                Console.Error.WriteLine($"round {round}: {name}, {total:N0} flows ...");
                // The body alone, the sink's encoder on the same batches; then the same batches through the sink.
                GC.Collect();
                var encoder = new HttpSinkEncoder(encoding == "ndjson" ? HttpSinkEncoding.Ndjson : HttpSinkEncoding.Protobuf, compression == "gzip", publicAddresses);
                long encodedBytes = 0;
                var encodeCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var encodeWall = Measure.Seconds(() =>
                {
                    foreach (var batch in batches)
                    {
                        encodedBytes += encoder.Encode([new BatchSlice(batch, 0, batch.Flows.Count)], out _, out _).Count;
                    }
                });
                var encode = (Process.GetCurrentProcess().TotalProcessorTime - encodeCpuBefore).TotalSeconds;
                GC.Collect();
                var bytesBefore = receiver.Bytes;
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                await SendAsync(byName[name], batches);
                var seconds = watch.Elapsed.TotalSeconds;
                var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
                var bytes = receiver.Bytes - bytesBefore;
                Console.Error.WriteLine($"  encoder alone {encodedBytes:N0} B in {encodeWall:F3} s ({encode:F3} CPU-s); delivered {bytes:N0} B in {seconds:F3} s ({cpu:F3} CPU-s)");
                results[name].Add((seconds, cpu, bytes, encode));
            }
        }

        await app.StopAsync();
        await app.DisposeAsync();

        Console.WriteLine();
        Console.WriteLine($"| figure ({total:N0} flows in requests of {BatchFlows:N0}, median of {rounds}) | " + string.Join(" | ", Cases.Select(c => c.Name)) + " |");
        Console.WriteLine("| --- |" + string.Concat(Cases.Select(_ => " --- |")));
        Row("flows/s delivered (2xx) to the receiver", r => $"{total / Measure.Median(r.Select(x => x.Seconds)):N0}");
        Row("flows per CPU-second (sink and receiver, whole process)", r => $"{total / Measure.Median(r.Select(x => x.Cpu)):N0}");
        Row("flows per CPU-second encoding the body alone (no HTTP)", r => $"{total / Measure.Median(r.Select(x => x.EncodeSeconds)):N0}");
        Row("bytes per flow on the wire (body)", r => $"{Measure.Median(r.Select(x => (double)x.Bytes)) / total:F1}");
        return 0;

        void Row(string figure, Func<List<(double Seconds, double Cpu, long Bytes, double EncodeSeconds)>, string> value) =>
            Console.WriteLine($"| {figure} | " + string.Join(" | ", Cases.Select(c => value(results[c.Name]))) + " |");
    }

    private static async Task SendAsync(HttpSink sink, List<FlowBatchEnriched> batches)
    {
        foreach (var batch in batches)
        {
            await sink.WriteAsync(batch, CancellationToken.None);
        }
    }

    /// <summary>A batch of distinct flows between pods of a 20,000-pod cluster, every field egressd sends filled.</summary>
    private static FlowBatchEnriched Batch(int n)
    {
        var flows = new FlowRow[BatchFlows];
        for (var i = 0; i < flows.Length; i++)
        {
            var flow = (n * BatchFlows) + i;
            var pod = flow / 10 % 20_000;
            var peer = (pod * 7 + (flow % 10 * 13) + 1) % 20_000;
            flows[i] = new FlowRow
            {
                Flow = new FlowRecord
                {
                    SourceIp = IpAddr.Parse(Ip(pod)),
                    DestinationIp = IpAddr.Parse(Ip(peer)),
                    Protocol = 6,
                    TxBytes = (ulong)(1000 + (flow % 100_003)),
                    RxBytes = (ulong)(5000 + (flow % 777)),
                    TxPackets = (ulong)(10 + (flow % 50)),
                    RxPackets = 12,
                },
                Source = Endpoint(pod),
                Destination = Endpoint(peer),
                TrafficClass = pod % 3 == peer % 3 ? TrafficClass.SameZone : TrafficClass.CrossZone,
            };
        }

        var end = DateTimeOffset.UtcNow;
        return EnrichedRows.Batch(flows, new BatchHeader
        {
            Id = new BatchId { Node = "node-a", BootId = "bench", Window = n, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = end.AddSeconds(-5),
            WindowEnd = end,
            Source = FlowSource.Replay,
        });

        static string Ip(int pod) => $"10.244.{pod >> 8}.{pod & 255}";

        static FlowEndpoint Endpoint(int pod) => new()
        {
            Pod = $"app-{pod % 997}-7d9f8c6b5-{pod:x5}",
            Namespace = $"team-{pod % 200}",
            Node = $"ip-10-0-{pod % 500 / 250}-{pod % 250}.ec2.internal",
            Zone = $"eu-west-1{(char)('a' + (pod % 3))}",
            Region = "eu-west-1",
            WorkloadKind = "Deployment",
            WorkloadName = $"app-{pod % 997}",
        };
    }

    private static string Option(string[] args, string name, string fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    /// <summary>Reads each body to the end, counts its bytes, answers 200.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication app;
        private long bytes;

        private Receiver(WebApplication app) => this.app = app;

        public long Bytes => Interlocked.Read(ref bytes);

        public string Url => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/in";

        public static async Task<Receiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/in", async context =>
            {
                var read = new byte[1 << 16];
                long n = 0;
                int got;
                while ((got = await context.Request.Body.ReadAsync(read)) > 0)
                {
                    n += got;
                }

                Interlocked.Add(ref receiver.bytes, n);
                context.Response.StatusCode = StatusCodes.Status200OK;
            });
            await app.StartAsync();
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
