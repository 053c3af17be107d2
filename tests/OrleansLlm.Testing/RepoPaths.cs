namespace OrleansLlm.Testing;

/// <summary>Where the repository is, and the programs built beside the tests, in the same configuration.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding <c>OrleansLlm.sln</c>, found upwards from the test's own binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The dll of a program the test project builds (a <c>ProjectReference</c> with <c>ReferenceOutputAssembly="false"</c>),
    /// in the configuration and target framework the tests run in: tests run real programs, never reference exes.
    /// </summary>
    public static string BuiltProgram(string projectDir, string assemblyName)
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testDir.Parent!.Name;
        var dll = Path.Combine(Root, "src", projectDir, "bin", configuration, testDir.Name, assemblyName + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build the solution first: {dll} is missing", dll);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OrleansLlm.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"OrleansLlm.sln not found above {AppContext.BaseDirectory}");
    }
}
