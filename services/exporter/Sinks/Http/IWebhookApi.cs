using Refit;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>
/// The receiver, as Refit sees it: one body, the sink's headers, the raw response (its status
/// decides what happens to the batches; an error body is read only as far as a log line needs).
/// The address is the sink's URL exactly, query included: see <see cref="SinkAddressHandler"/>.
/// </summary>
public interface IWebhookApi
{
    [Post("")]
    Task<HttpResponseMessage> PostAsync([Body] HttpContent body, [HeaderCollection] IDictionary<string, string> headers, CancellationToken cancellationToken);

    [Put("")]
    Task<HttpResponseMessage> PutAsync([Body] HttpContent body, [HeaderCollection] IDictionary<string, string> headers, CancellationToken cancellationToken);

    [Patch("")]
    Task<HttpResponseMessage> PatchAsync([Body] HttpContent body, [HeaderCollection] IDictionary<string, string> headers, CancellationToken cancellationToken);
}
