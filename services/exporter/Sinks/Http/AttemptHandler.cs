namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// Below the resilience pipeline, so it sees every attempt: counts failures by class and notes
/// the last one, which a request that runs out of retry time reports when it is parked.
/// </summary>
internal sealed class AttemptHandler(string sink, HttpSinkMetrics metrics) : DelegatingHandler
{
    private static readonly AsyncLocal<StrongBox> LastFailure = new();

    /// <summary>Starts noting failures for the request about to be sent from this async flow.</summary>
    public static StrongBox Track() => LastFailure.Value = new StrongBox();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            var status = (int)response.StatusCode;
            if (status >= 300)
            {
                Fail($"{status / 100}xx", $"{status} {response.ReasonPhrase}");
            }

            return response;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The per-attempt timeout (or shutdown) cancelled this attempt.
            Fail("timeout", "no answer within the timeout");
            throw;
        }
        catch (HttpRequestException ex)
        {
            Fail("transport", $"{ex.HttpRequestError}: {ex.Message}");
            throw;
        }
    }

    private void Fail(string failureClass, string detail)
    {
        metrics.Failures.WithLabels(sink, failureClass).Inc();
        LastFailure.Value?.Value = detail;
    }

    /// <summary>A mutable cell the caller keeps and the handler writes.</summary>
    public sealed class StrongBox
    {
        public string? Value { get; set; }
    }
}
