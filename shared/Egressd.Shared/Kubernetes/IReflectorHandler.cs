namespace Egressd.Shared.Kubernetes;

/// <summary>Receives a reflector's view of one resource, one call at a time.</summary>
public interface IReflectorHandler<in TSlim>
    where TSlim : class
{
    /// <summary>An object appeared or changed (<paramref name="previous"/> is null when it is new).</summary>
    void OnUpsert(string key, TSlim? previous, TSlim current);

    void OnDelete(string key, TSlim previous);

    /// <summary>A full list has been applied: the handler's view is complete.</summary>
    void OnSynced();
}
