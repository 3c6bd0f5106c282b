namespace Egressd.Shared.Kubernetes;

/// <summary>
/// An object read straight from the API server's JSON into a class that holds only the fields egressd
/// uses (see <see cref="ApiServerSource{T}"/>).
/// </summary>
public interface IApiObject
{
    ApiObjectMeta? Metadata { get; }
}
