using System.Globalization;
using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Local.View;

/// <summary>
/// Writes to a descriptor this process inherited (run.sh's standard output as descriptor 3) with
/// write(2), so the view shares the descriptor's file offset with run.sh: its tables land after the
/// banner in a file, as in a pipe or on a terminal. Opening <c>/dev/fd/3</c> instead would make a
/// new open file with an offset of its own, and .NET's FileStream writes at a position it keeps
/// itself (pwrite), so what run.sh wrote after the open was overwritten.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class DescriptorStream(int descriptor) : Stream
{
    private const string Prefix = "/dev/fd/";

    /// <summary>The descriptor a path of the form <c>/dev/fd/N</c> names, else null.</summary>
    public static int? Named(string path) =>
        path.StartsWith(Prefix, StringComparison.Ordinal)
        && int.TryParse(path.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var descriptor)
            ? descriptor
            : null;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Libc.WriteAll(descriptor, buffer, out var errno) != 0)
        {
            throw new IOException($"write(descriptor {descriptor}) failed: errno {errno}");
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
