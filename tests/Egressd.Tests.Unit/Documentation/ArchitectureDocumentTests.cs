using System.Text.RegularExpressions;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Documentation;

/// <summary>docs/ARCHITECTURE.md names files at each step of the data path; they must exist.</summary>
public sealed partial class ArchitectureDocumentTests
{
    [Fact]
    public void Every_file_the_architecture_page_names_exists()
    {
        var page = File.ReadAllText(Repo.Path("docs", "ARCHITECTURE.md"));
        var named = FilePath().Matches(page).Select(m => m.Groups[1].Value).Distinct().ToList();

        Assert.True(named.Count >= 20, $"expected the page to name the files of the data path, found {named.Count}");
        var missing = named.Where(p => !File.Exists(Repo.Path(p.Split('/')))).ToList();
        Assert.True(missing.Count == 0, "named in docs/ARCHITECTURE.md but missing: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_folder_the_layout_names_exists()
    {
        var page = File.ReadAllText(Repo.Path("docs", "ARCHITECTURE.md"));
        var layout = page[page.IndexOf("```", StringComparison.Ordinal)..page.LastIndexOf("```", StringComparison.Ordinal)];
        var parent = "";
        var missing = new List<string>();
        foreach (var line in layout.Split('\n').Skip(1))
        {
            var match = LayoutEntry().Match(line);
            if (!match.Success)
            {
                continue;
            }

            if (match.Groups["top"].Success)
            {
                parent = match.Groups["top"].Value;
                Check(parent);
            }
            else
            {
                foreach (var folder in match.Groups["sub"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    Check($"{parent}/{folder.TrimEnd('/')}");
                }
            }
        }

        Assert.True(missing.Count == 0, "folders in the layout that do not exist: " + string.Join(", ", missing));

        void Check(string folder)
        {
            if (!Directory.Exists(Repo.Path(folder.Split('/'))))
            {
                missing.Add(folder);
            }
        }
    }

    [GeneratedRegex(@"`((?:services|shared|tests)/[A-Za-z0-9_./-]+\.cs)`")]
    private static partial Regex FilePath();

    // "shared/Egressd.Shared" starts a group; "  Network/  Kubernetes/   text" lists folders in it.
    [GeneratedRegex(@"^(?:(?<top>(?:services|shared)/[A-Za-z.]+)|\s+(?<sub>(?:[A-Za-z/]+/\s+)+))")]
    private static partial Regex LayoutEntry();
}
