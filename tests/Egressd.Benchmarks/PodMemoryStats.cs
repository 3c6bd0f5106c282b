namespace Egressd.Benchmarks;

/// <summary>A pod's memory cgroup at one moment.</summary>
/// <param name="PeakMiB">The most ever charged to it: anonymous, shared and page cache.</param>
/// <param name="UnreclaimableMiB">Anonymous and shared memory now: what the kernel cannot take back without swap.</param>
/// <param name="LimitReached">How often a charge met the limit and the kernel reclaimed to make room.</param>
/// <param name="OomKills">Processes the kernel killed for the limit.</param>
internal readonly record struct PodMemoryStats(long PeakMiB, long UnreclaimableMiB, long LimitReached, long OomKills);
