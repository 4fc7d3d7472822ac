/** Shell words and `pip install` requirements, for the pip command lines in the Dockerfile's RUN instructions. */

/** Splits a shell command line into words, honouring quotes and backslashes (no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: "'" | '"' | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) word += line[(i += 1)];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      word += line[(i += 1)];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** pip options that take a value (the value is not a requirement). */
const PIP_OPTIONS_WITH_VALUE = new Set([
  "-c", "--constraint", "-r", "--requirement", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
  "-t", "--target", "--prefix", "--root", "--platform", "--python-version", "--implementation", "--abi",
  "--progress-bar", "--trusted-host", "--cache-dir", "--src", "--upgrade-strategy",
]);

/** The requirement specifiers of every `pip install` in a shell script (`pip`, `pip3` or `python -m pip`). */
export function pipInstallRequirements(script: string): string[] {
  const requirements: string[] = [];
  for (const command of script.split(/;|&&|\|\||\n/)) {
    const words = shellWords(command);
    const install = words.findIndex(
      (word, i) => word === "install" && i > 0 && ["pip", "pip3"].includes(words[i - 1]?.split("/").pop() ?? ""),
    );
    if (install < 0) continue;
    for (let i = install + 1; i < words.length; i += 1) {
      const word = words[i] as string;
      if (word === ">" || word === ">>" || word === "2>&1") break;
      if (PIP_OPTIONS_WITH_VALUE.has(word)) i += 1;
      else if (!word.startsWith("-")) requirements.push(word);
    }
  }
  return requirements;
}
