using System.Text.RegularExpressions;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Documentation;

/// <summary>The README stays a page a newcomer reads, and the pages it sends them to are there.</summary>
public sealed partial class DocumentationLinksTests
{
    [Fact]
    public void Readme_stays_short()
    {
        var lines = File.ReadAllLines(Repo.Path("README.md")).Length;
        Assert.True(lines <= 250, $"README.md has {lines} lines; move reference material to docs/ and link it");
    }

    [Fact]
    public void Every_relative_link_in_the_docs_leads_to_a_file_and_heading_that_exist()
    {
        var pages = new[] { Repo.Path("README.md"), Repo.Path("CONTRIBUTING.md"), Repo.Path("RELEASING.md"), Repo.Path("CHANGELOG.md") }
            .Concat(Directory.GetFiles(Repo.Path("docs"), "*.md"))
            .ToList();
        var broken = new List<string>();
        foreach (var page in pages)
        {
            var text = File.ReadAllText(page);
            foreach (Match link in Link().Matches(text))
            {
                var target = link.Groups["target"].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var file = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var path = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, file));
                var name = Path.GetRelativePath(Repo.Root, page) + ": " + target;
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    broken.Add(name + " (no such file)");
                }
                else if (anchor is not null && !Anchors(File.ReadAllText(path)).Contains(anchor))
                {
                    broken.Add(name + " (no such heading)");
                }
            }
        }

        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    /// <summary>The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string markdown) =>
        [.. Heading().Matches(markdown).Select(m => Punctuation().Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-'))];

    // [text](target), not inside an image; the target has no spaces.
    [GeneratedRegex(@"(?<!!)\[[^\]]*\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\s_-]")]
    private static partial Regex Punctuation();
}
