namespace Egressd.Tests.FirstRun;

/// <summary>Tests that start run.sh share its .egressd folder, the demo's namespaces and its build: one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class RunScriptCollection : ICollectionFixture<ReleaseBuild>
{
    public const string Name = "run.sh";
}
