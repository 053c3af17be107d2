using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// No method in <c>src</c> runs over <see cref="MaxLines"/> lines, so a newcomer can read any one of them whole
/// (issue 25). Counted from the declaration's first line (its attributes and doc comment left out) to its closing
/// brace; lambdas and local functions count toward the member that holds them.
/// </summary>
[Trait("Category", "Unit")]
public sealed class MethodLengthTests
{
    private const int MaxLines = 60;

    [Fact]
    public void EveryMethodInSrc_IsAtMostSixtyLines()
    {
        var members = SourceFiles().SelectMany(Members).ToList();

        var tooLong = members.Where(m => m.Lines > MaxLines).Select(m => m.ToString()).ToList();

        // The search found the code, or the check below says nothing.
        Assert.Contains(members, m => m.Name == "SubmitCommand.Create");
        Assert.True(tooLong.Count == 0, $"over {MaxLines} lines; extract well-named steps:\n{string.Join('\n', tooLong)}");
    }

    private static IEnumerable<string> SourceFiles()
    {
        var src = Path.Combine(RepoPaths.Root, "src");
        var separator = Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}bin{separator}", StringComparison.Ordinal) && !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    private static IEnumerable<Member> Members(string path)
    {
        var root = CSharpSyntaxTree.ParseText(File.ReadAllText(path), path: path).GetRoot();
        foreach (var node in root.DescendantNodes())
        {
            var (attributes, name) = node switch
            {
                MethodDeclarationSyntax m => (m.AttributeLists, m.Identifier.Text),
                ConstructorDeclarationSyntax c => (c.AttributeLists, c.Identifier.Text),
                DestructorDeclarationSyntax d => (d.AttributeLists, "~" + d.Identifier.Text),
                OperatorDeclarationSyntax o => (o.AttributeLists, "operator " + o.OperatorToken.Text),
                ConversionOperatorDeclarationSyntax c => (c.AttributeLists, "operator " + c.Type),
                AccessorDeclarationSyntax a => (a.AttributeLists, $"{Owner(a)}.{a.Keyword.Text}"),
                LocalFunctionStatementSyntax l => (l.AttributeLists, $"{Enclosing(l)}.{l.Identifier.Text}"),
                _ => (default(SyntaxList<AttributeListSyntax>), null),
            };
            if (name is null)
            {
                continue;
            }

            // The leading trivia of the first token past the attributes is the doc comment: Span leaves it out.
            var first = attributes.Count > 0 ? attributes.Last().GetLastToken().GetNextToken() : node.GetFirstToken();
            var start = first.GetLocation().GetLineSpan().StartLinePosition.Line;
            var end = node.GetLastToken().GetLocation().GetLineSpan().EndLinePosition.Line;
            yield return new Member($"{TypeName(node)}.{name}", Path.GetRelativePath(RepoPaths.Root, path), start + 1, end - start + 1);
        }
    }

    private static string Owner(AccessorDeclarationSyntax accessor) => accessor.Parent?.Parent switch
    {
        PropertyDeclarationSyntax p => p.Identifier.Text,
        EventDeclarationSyntax e => e.Identifier.Text,
        IndexerDeclarationSyntax => "this[]",
        _ => "?",
    };

    private static string Enclosing(LocalFunctionStatementSyntax local) =>
        local.Ancestors().Select(a => a switch
        {
            MethodDeclarationSyntax m => m.Identifier.Text,
            ConstructorDeclarationSyntax c => c.Identifier.Text,
            AccessorDeclarationSyntax a2 => a2.Keyword.Text,
            LocalFunctionStatementSyntax l => l.Identifier.Text,
            _ => null,
        }).FirstOrDefault(n => n is not null) ?? "?";

    private static string TypeName(SyntaxNode node) =>
        node.Ancestors().OfType<BaseTypeDeclarationSyntax>().FirstOrDefault()?.Identifier.Text ?? "<top level>";

    private sealed record Member(string Name, string File, int Line, int Lines)
    {
        public override string ToString() => $"{File}:{Line}: {Name} ({Lines} lines)";
    }
}
