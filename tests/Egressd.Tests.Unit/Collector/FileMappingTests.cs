using System.IO.MemoryMappedFiles;
using Egressd.Collector.Native;

namespace Egressd.Tests.Collector;

public sealed class FileMappingTests
{
    [Fact]
    public void Only_read_only_mappings_of_files_are_taken()
    {
        var mappings = FileMapping.ReadOnly([
            "7f0000000000-7f0000010000 r-xp 00001000 fe:01 1234    /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/libcoreclr.so",
            "7f0000010000-7f0000012000 rw-p 00011000 fe:01 1234    /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/libcoreclr.so",
            "7f0000020000-7f0000030000 r--s 00000000 fe:01 5678    /app/a dir with spaces/Egressd.Collector.dll",
            "7f0000040000-7f0000050000 r-xs 00000000 00:01 9        /memfd:doublemapper (deleted)",
            "7f0000060000-7f0000070000 rw-p 00000000 00:00 0 ",
            "7f0000070000-7f0000080000 r--p 00000000 00:00 0",
            "55d000000000-55d000021000 rw-p 00000000 00:00 0        [heap]",
            "7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0        [vdso]",
            "not a maps line",
        ]).ToList();

        Assert.Equal(
            [
                new FileMapping(0x7f0000000000, 0x7f0000010000, "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/libcoreclr.so"),
                new FileMapping(0x7f0000020000, 0x7f0000030000, "/app/a dir with spaces/Egressd.Collector.dll"),
            ],
            mappings);
    }

    [Fact]
    public void Paged_out_mapping_leaves_resident_memory_and_reads_back_what_is_used()
    {
        // Beside the test's build, on disk: pages of a file in tmpfs are shared memory, which the kernel
        // cannot page out without swap.
        var directory = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, $"egressd-mapping-{Guid.NewGuid():N}")).FullName;
        try
        {
            var path = Path.Combine(directory, "image.bin");
            const int Size = 16 << 20;
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(Enumerable.Range(0, Size).Select(i => (byte)(i / 4096)).ToArray());
                // Written pages are dirty until they reach the disk, and only clean ones can be dropped.
                file.Flush(flushToDisk: true);
            }

            using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = map.CreateViewAccessor(0, Size, MemoryMappedFileAccess.Read);
            var sum = 0L;
            for (var offset = 0; offset < Size; offset += 4096)
            {
                sum += view.ReadByte(offset);
            }

            Assert.Equal(Enumerable.Range(0, Size / 4096).Sum(page => (long)(byte)page), sum);
            Assert.True(ResidentKiB(path) >= 15 << 10, $"{ResidentKiB(path)} KiB of the mapping resident after reading it all");

            var mapping = Assert.Single(FileMapping.ReadOnly(File.ReadLines("/proc/self/maps")), m => m.Path == path);
            Assert.Equal(0, mapping.PageOut());
            Assert.True(ResidentKiB(path) < 1 << 10, $"{ResidentKiB(path)} KiB of the mapping still resident after paging it out");

            // A page used again comes back from the file, alone.
            Assert.Equal(1000 % 256, view.ReadByte(1000 * 4096L));
            Assert.InRange(ResidentKiB(path), 4, 8);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The resident memory of this process's mappings of <paramref name="path"/>, from /proc/self/smaps.</summary>
    private static long ResidentKiB(string path)
    {
        long resident = 0;
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (char.IsAsciiHexDigit(line[0]) && line.Contains('-', StringComparison.Ordinal) && line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries) is { Length: >= 5 } header)
            {
                inside = header.Length == 6 && header[5].TrimEnd() == path;
            }
            else if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                resident += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return resident;
    }
}
