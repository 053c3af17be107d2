namespace OrleansLlm.Tests.Deploy;

/// <summary>One simple command of a documented shell block, its words after quoting and known variables are resolved.</summary>
/// <param name="Words">The command and its arguments, as the program would receive them.</param>
/// <param name="Doc">Where it is written, e.g. <c>docs/kubernetes.md:123</c>.</param>
/// <param name="Index">Its position among the document's commands: what runs before what.</param>
public sealed record ShellCommand(IReadOnlyList<string> Words, string Doc, int Index)
{
    public string Program => Words.Count > 0 ? Words[0] : "";

    public override string ToString() => $"{Doc}: {string.Join(' ', Words)}";
}
