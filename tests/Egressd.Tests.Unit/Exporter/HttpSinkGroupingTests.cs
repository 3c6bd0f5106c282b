using Egressd.Contracts;
using Egressd.Exporter.Sinks.Http;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Refit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>
/// How an accumulating HTTP sink groups batches into requests, on a fake clock and a real receiver:
/// a bucket goes once it has closed and no batch came for flushDelay, a late batch makes a request
/// of its own, and the same batches delivered again make the same request (same idempotency key).
/// </summary>
public sealed class HttpSinkGroupingTests
{
    private static readonly DateTimeOffset BucketStart = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
    private static readonly DateTimeOffset BucketEnd = BucketStart.AddSeconds(60);

    private static HttpSink NewSink(WebhookReceiver receiver, FakeTimeProvider time)
    {
        var url = new Uri(receiver.BaseAddress, "in");
        List<string> errors = [];
        var settings = HttpSinkSettings.Resolve("grouping", new HttpSinkOptions { Url = url.ToString(), Interval = "60s", FlushDelay = "5s" }, null, errors);
        Assert.Empty(errors);
        var http = new HttpClient(new SinkAddressHandler(url) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = url };
        var metrics = TestMetrics.HttpSink();
        var client = new HttpSinkClient(settings!, RestService.For<IWebhookApi>(http), metrics);
        var encoder = new HttpSinkEncoder(HttpSinkEncoding.Ndjson, gzip: false, new NetworkOptions().PublicAddresses());
        return new HttpSink(settings!, encoder, client, time, NullLogger.Instance, metrics);
    }

    private static FlowBatchEnriched In(long window, int secondsAfterStart)
    {
        var batch = Batch("node-a", "boot", window, PodFlow("shop", "web-1", "db", "db-0", txBytes: 10));
        return batch with { Header = batch.Header with { WindowStart = BucketStart.AddSeconds(secondsAfterStart - 5), WindowEnd = BucketStart.AddSeconds(secondsAfterStart) } };
    }

    [Fact]
    public async Task A_bucket_goes_once_closed_and_quiet_a_late_batch_goes_alone_and_a_redelivery_regroups_the_same()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await WebhookReceiver.StartAsync();
        var time = new FakeTimeProvider(BucketStart.AddSeconds(10));
        var sink = NewSink(receiver, time);

        var a = sink.WriteAsync(In(1, 5), ct);
        var b = sink.WriteAsync(In(2, 10), ct);
        time.SetUtcNow(BucketEnd);
        await sink.FlushDueAsync(all: false);
        Assert.Empty(receiver.Requests);

        // A collector a little late: it joins its bucket, which now waits flushDelay from this arrival.
        time.SetUtcNow(BucketEnd.AddSeconds(2));
        var c = sink.WriteAsync(In(3, 59), ct);
        time.SetUtcNow(BucketEnd.AddSeconds(6));
        await sink.FlushDueAsync(all: false);
        Assert.Empty(receiver.Requests);

        time.SetUtcNow(BucketEnd.AddSeconds(7));
        await sink.FlushDueAsync(all: false);
        await Task.WhenAll(a, b, c).WaitAsync(TimeSpan.FromSeconds(30), ct);
        var first = Assert.Single(receiver.Requests);
        Assert.Equal(3, first.Body.Count(x => x == '\n'));

        // Later than flushDelay: a request of its own, with its own key.
        time.SetUtcNow(BucketEnd.AddSeconds(8));
        var d = sink.WriteAsync(In(4, 30), ct);
        time.SetUtcNow(BucketEnd.AddSeconds(13));
        await sink.FlushDueAsync(all: false);
        await d.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, receiver.Requests.Count);
        Assert.Equal(2, receiver.Applied.Count);

        // After a crash the broker delivers the bucket's batches again, in any order and at any
        // time: the same request, the same key, applied once.
        var again = NewSink(receiver, time);
        time.Advance(TimeSpan.FromMinutes(3));
        var redelivered = new[] { again.WriteAsync(In(3, 59), ct), again.WriteAsync(In(1, 5), ct), again.WriteAsync(In(2, 10), ct) };
        time.Advance(TimeSpan.FromSeconds(5));
        await again.FlushDueAsync(all: false);
        await Task.WhenAll(redelivered).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(3, receiver.Requests.Count);
        Assert.Equal(first.Key, receiver.Requests.Last().Key);
        Assert.Equal(2, receiver.Applied.Count);
    }
}
