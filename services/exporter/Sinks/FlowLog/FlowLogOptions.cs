namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>Settings under <c>Egressd:Exporter:FlowLog</c>: one flat JSON line per flow.</summary>
public sealed class FlowLogOptions
{
    public const string Section = "Egressd:Exporter:FlowLog";

    public bool Enabled { get; set; } = true;

    /// <summary>File to append to; <c>-</c> writes to standard output (without the crash guarantee).</summary>
    public string Path { get; set; } = "-";

    /// <summary>The file is rotated before a batch would take it past this size; 0 never rotates.</summary>
    public long MaxFileBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>Rotated files kept beside the file (<c>Path.1</c> is the newest); their batch ids stay known after a restart.</summary>
    public int RotatedFiles { get; set; } = 5;

    /// <summary>Permissions of the files the sink creates, in octal. Existing files keep theirs.</summary>
    public string FileMode { get; set; } = "0600";

    /// <summary>Whether the flow log goes to standard output rather than a file.</summary>
    public bool IsStandardOutput => Path == "-";

    /// <summary>The <see cref="FileMode"/> as permission bits, or null when it is not an octal mode.</summary>
    public UnixFileMode? ParseFileMode()
    {
        var text = FileMode.Trim();
        if (text.Length is < 3 or > 4 || !text.All(c => c is >= '0' and <= '7'))
        {
            return null;
        }

        var value = Convert.ToInt32(text, 8);
        // Permission bits only: setuid, setgid and sticky have no business on a log file.
        return value > 0b111_111_111 ? null : (UnixFileMode)value;
    }
}
